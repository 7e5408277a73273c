/**
 * Limits on the account pages, counted in the shared store (rate-limiter-flexible through the same
 * LimiterFactory as the login throttle, so every IdP process sees the same counts):
 *   - password reset requests per address (IP) and per login typed, so nobody can mail-bomb an
 *     account or walk the directory; the answer does not depend on whether the account exists;
 *   - registrations per address;
 *   - the invitation page's "sign in and join" form shares the login form's brute-force throttle.
 */
import { RateLimiterMemory, type RateLimiterAbstract, type RateLimiterRes } from 'rate-limiter-flexible';
import { AppError, storeUnavailable } from '../../kernel/errors.ts';
import { normaliseLogin } from '../../directory/normalise.ts';
import { createLoginThrottle, type LimiterFactory, type LoginThrottle, type ThrottleSettings } from '../regulation/login-throttle.ts';

export interface AccountLimits {
  resetsPerIpPerHour: number;
  resetsPerLoginPerHour: number;
  registrationsPerIpPerHour: number;
}

export const DEFAULT_ACCOUNT_LIMITS: AccountLimits = { resetsPerIpPerHour: 20, resetsPerLoginPerHour: 5, registrationsPerIpPerHour: 10 };

/** 429: the person may try again after `retryAfterSeconds`. */
export class AccountThrottledError extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(429, 'too_many_requests', `Too many requests; try again in ${Math.ceil(retryAfterSeconds / 60)} minutes.`);
    this.name = 'AccountThrottledError';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export interface AccountThrottle {
  /** Counts one reset request; throws AccountThrottledError past either limit. */
  resetRequest(ip: string, login: string): Promise<void>;
  registration(ip: string): Promise<void>;
  /** The login form's throttle (for the invitation page's sign-in). */
  login(): Promise<LoginThrottle>;
}

const HOUR = 3600;

/** Process-local limiters, for a router used without the shared store (tests of the router alone). */
export const memoryLimiters: LimiterFactory = async (options) => new RateLimiterMemory(options);

function isRes(value: unknown): value is RateLimiterRes {
  return typeof value === 'object' && value !== null && 'msBeforeNext' in value && 'consumedPoints' in value;
}

async function consume(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (error) {
    if (isRes(error)) throw new AccountThrottledError(Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
    // A store that cannot count must not let requests through unchecked: fail closed (503).
    throw storeUnavailable('The account service', error);
  }
}

export function createAccountThrottle(makeLimiter: LimiterFactory, limits: AccountLimits, loginSettings: ThrottleSettings): AccountThrottle {
  // Limiters are made on first use: the router is built synchronously at start-up.
  const lazy = <T>(make: () => Promise<T>) => {
    let made: Promise<T> | undefined;
    return () => {
      made ??= make().catch((error: unknown) => {
        made = undefined;
        throw error;
      });
      return made;
    };
  };
  const resetsByIp = lazy(() => makeLimiter({ keyPrefix: 'account-reset-ip', points: limits.resetsPerIpPerHour, duration: HOUR }));
  const resetsByLogin = lazy(() => makeLimiter({ keyPrefix: 'account-reset-login', points: limits.resetsPerLoginPerHour, duration: HOUR }));
  const registrations = lazy(() => makeLimiter({ keyPrefix: 'account-register-ip', points: limits.registrationsPerIpPerHour, duration: HOUR }));
  const login = lazy(() => createLoginThrottle(makeLimiter, loginSettings));
  return {
    async resetRequest(ip, rawLogin) {
      await consume(await resetsByIp(), ip);
      await consume(await resetsByLogin(), normaliseLogin(rawLogin));
    },
    async registration(ip) {
      await consume(await registrations(), ip);
    },
    login,
  };
}
