/**
 * Sign-in of sync clients on `webdav` services with a Porta device password (device-passwords.ts),
 * used by the gateway's authenticate step for `Authorization: Basic`.
 *
 * - A match becomes a principal for the account (`via: 'device'`, `amr: ['device']`), with the
 *   claims the IdP would release for it, so the identity headers name the person as for a session.
 * - The device password never goes upstream: the caller removes `Authorization`, and the upstream
 *   learns who it is from the identity headers only (docs/limits.md, "Sync clients").
 * - A wrong one is 401 with `WWW-Authenticate: Basic realm="<service name>"`. Failures count per
 *   username and client address in a shared counter; past the limit the answer is 429 even for a
 *   right password until the window ends. The block is remembered in memory by the process that saw
 *   a failure, so good requests cost no extra store round trip.
 */
import type { CounterStore } from '../../../store/types.ts';
import type { Clock } from '../../../kernel/clock.ts';
import type { Claims } from '../../types.ts';
import type { Refusal } from '../types.ts';
import type { DevicePasswords } from './device-passwords.ts';
import { davError } from './answers.ts';

export interface DeviceLoginOptions {
  passwords: DevicePasswords;
  /** The claims of an active account, as the IdP releases them; undefined when it is gone or disabled. */
  claimsOf(subject: string): Promise<Claims | undefined>;
  counters: CounterStore;
  clock: Clock;
  /** Wrong passwords allowed per username and address in a window. Default 10. */
  maxFailures?: number;
  /** Seconds. Default 300. */
  windowSeconds?: number;
}

export type DeviceLoginResult = { claims: Claims; deviceId: string } | { refuse: Refusal };

export class DeviceLogin {
  private readonly options: DeviceLoginOptions;
  private readonly maxFailures: number;
  private readonly windowSeconds: number;
  /** key → blocked until (ms). */
  private readonly blocked = new Map<string, number>();

  constructor(options: DeviceLoginOptions) {
    this.options = options;
    this.maxFailures = options.maxFailures ?? 10;
    this.windowSeconds = options.windowSeconds ?? 300;
  }

  /** Checks `Authorization: Basic …` (the caller made sure it is Basic). */
  async signIn(authorization: string, clientIp: string, serviceName: string): Promise<DeviceLoginResult> {
    const username = usernameOf(authorization);
    const key = `device-fail:${username}:${clientIp}`;
    const now = this.options.clock.now();
    const until = this.blocked.get(key);
    if (until !== undefined) {
      if (until > now) return { refuse: tooMany(Math.ceil((until - now) / 1000)) };
      this.blocked.delete(key);
    }
    const device = await this.options.passwords.fromAuthorization(authorization);
    const claims = device ? await this.options.claimsOf(device.subject) : undefined;
    if (device && claims) return { claims: { ...claims, sub: device.subject, amr: ['device'] }, deviceId: device.deviceId };

    const failures = await this.options.counters.increment(key, 1, this.windowSeconds);
    if (failures > this.maxFailures) {
      if (this.blocked.size > 10_000) this.blocked.delete(this.blocked.keys().next().value as string);
      this.blocked.set(key, now + this.windowSeconds * 1000);
      return { refuse: tooMany(this.windowSeconds) };
    }
    return {
      refuse: davError(401, 'NotAuthenticated', `The username or device password is not valid for ${serviceName}. Create a device password on your account page and use it with your account id as the username.`, {
        'www-authenticate': `Basic realm="${serviceName.replace(/["\\]/g, '')}", charset="UTF-8"`,
      }),
    };
  }
}

function tooMany(seconds: number): Refusal {
  return davError(429, 'TooManyRequests', `Too many wrong device passwords; try again in ${seconds} seconds.`, { 'retry-after': String(seconds) });
}

/** The username of Basic credentials (for the failure counter only; never logged with the password). */
function usernameOf(authorization: string): string {
  try {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return (colon < 0 ? decoded : decoded.slice(0, colon)).slice(0, 200);
  } catch {
    return '';
  }
}
