/**
 * Brute-force protection for the login form (rate-limiter-flexible over the store, so every IdP
 * process sees the same counts):
 *   - consecutive failures per username + address: after N in a row, a pause of `blockSeconds`;
 *     a successful login clears the count;
 *   - failures per address per day: past the cap the address is refused until the day window ends.
 * Unknown usernames count exactly like wrong passwords, so the throttle does not reveal which exist.
 */
import type { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, storeUnavailable } from '../../kernel/errors.ts';

export interface LimiterOptions {
  keyPrefix: string;
  points: number;
  /** Seconds the count is kept. */
  duration: number;
}

/** Makes a limiter backed by the shared store (`createRateLimiter` of `store/index.ts`). */
export type LimiterFactory = (options: LimiterOptions) => Promise<RateLimiterAbstract>;

export interface ThrottleSettings {
  consecutiveFailures: number;
  blockSeconds: number;
  failuresPerIpPerDay: number;
}

const DAY_SECONDS = 86400;

/** 429 with the moment a person may try again. */
export class LoginThrottledError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(429, 'login_throttled', `Too many failed sign-in attempts; try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`);
    this.name = 'LoginThrottledError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface LoginThrottle {
  /** Throws LoginThrottledError while the username+address or the address is blocked. */
  check(login: string, ip: string): Promise<void>;
  failure(login: string, ip: string): Promise<void>;
  success(login: string, ip: string): Promise<void>;
}

function isRes(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && 'msBeforeNext' in value && 'consumedPoints' in value;
}

/** rate-limiter-flexible rejects with a RateLimiterRes when over the limit, with an Error when the store fails. */
async function consumeQuietly(limiter: RateLimiterAbstract, key: string): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(key);
  } catch (error) {
    if (isRes(error)) return error;
    throw error;
  }
}

export async function createLoginThrottle(makeLimiter: LimiterFactory, settings: ThrottleSettings): Promise<LoginThrottle> {
  const [consecutive, perIp] = await Promise.all([
    makeLimiter({ keyPrefix: 'login-fail-user-ip', points: settings.consecutiveFailures, duration: DAY_SECONDS }),
    makeLimiter({ keyPrefix: 'login-fail-ip-day', points: settings.failuresPerIpPerDay, duration: DAY_SECONDS }),
  ]);
  const userKey = (login: string, ip: string) => `${login.trim().toLowerCase()}|${ip}`;

  // A store that cannot count failures must not let guesses through unchecked: fail closed (503).
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof AppError) throw error;
      throw storeUnavailable('Sign-in', error);
    }
  };

  const throttle: LoginThrottle = {
    async check(login, ip) {
      const [byUser, byIp] = await Promise.all([consecutive.get(userKey(login, ip)), perIp.get(ip)]);
      let waitMs = 0;
      if (byUser && byUser.consumedPoints >= settings.consecutiveFailures) waitMs = Math.max(waitMs, byUser.msBeforeNext);
      if (byIp && byIp.consumedPoints >= settings.failuresPerIpPerDay) waitMs = Math.max(waitMs, byIp.msBeforeNext);
      if (waitMs > 0) throw new LoginThrottledError(Math.max(1, Math.ceil(waitMs / 1000)));
    },
    async failure(login, ip) {
      const key = userKey(login, ip);
      const [byUser] = await Promise.all([consumeQuietly(consecutive, key), consumeQuietly(perIp, ip)]);
      // The failure that reaches the limit starts the pause: from then on the key lives `blockSeconds`.
      if (byUser.consumedPoints >= settings.consecutiveFailures) await consecutive.block(key, settings.blockSeconds);
    },
    async success(login, ip) {
      await consecutive.delete(userKey(login, ip));
    },
  };
  return {
    check: (login, ip) => guarded(() => throttle.check(login, ip)),
    failure: (login, ip) => guarded(() => throttle.failure(login, ip)),
    success: (login, ip) => guarded(() => throttle.success(login, ip)),
  };
}
