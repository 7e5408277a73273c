/**
 * Single-use, expiring tokens (email verification, password reset, invitations). The token itself is
 * only ever in the mail; the store keeps its SHA-256 under a key with a TTL, and redeeming it is an
 * atomic `take`, so two concurrent redemptions cannot both succeed. The expiry is also checked against
 * the injected clock, so a store whose TTL sweep is late still refuses an expired token.
 */
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import { randomToken, sha256Hex } from '../../kernel/ids.ts';
import type { KeyValueStore } from '../../store/types.ts';

export type TokenPurpose = 'verify-email' | 'reset-password' | 'invitation';

interface Stored<T> {
  payload: T;
  expiresAt: number;
}

export interface IssuedToken {
  token: string;
  /** The SHA-256 of the token: safe to store next to a record (e.g. to revoke an invitation). */
  hash: string;
  expiresAt: number;
}

export class SingleUseTokens {
  private readonly kv: KeyValueStore;
  private readonly clock: Clock;

  constructor(kv: KeyValueStore, clock: Clock = systemClock) {
    this.kv = kv;
    this.clock = clock;
  }

  static key(purpose: TokenPurpose, hash: string): string {
    return `account-token:${purpose}:${hash}`;
  }

  async issue<T>(purpose: TokenPurpose, payload: T, ttlSeconds: number): Promise<IssuedToken> {
    const token = randomToken();
    const hash = sha256Hex(token);
    const expiresAt = this.clock.now() + ttlSeconds * 1000;
    await this.kv.set(SingleUseTokens.key(purpose, hash), JSON.stringify({ payload, expiresAt } satisfies Stored<T>), ttlSeconds);
    return { token, hash, expiresAt };
  }

  private decode<T>(raw: string | undefined): Stored<T> | undefined {
    if (!raw) return undefined;
    const stored = JSON.parse(raw) as Stored<T>;
    return stored.expiresAt > this.clock.now() ? stored : undefined;
  }

  private keyOf(purpose: TokenPurpose, token: string): string | undefined {
    if (typeof token !== 'string' || !/^[A-Za-z0-9_-]{20,100}$/.test(token)) return undefined;
    return SingleUseTokens.key(purpose, sha256Hex(token));
  }

  /** Reads without using up (to show what an invitation is for before accepting it). */
  async peek<T>(purpose: TokenPurpose, token: string): Promise<T | undefined> {
    const key = this.keyOf(purpose, token);
    return key ? this.decode<T>(await this.kv.get(key))?.payload : undefined;
  }

  /** Uses the token up: the payload the first time, undefined ever after (or once expired). */
  async redeem<T>(purpose: TokenPurpose, token: string): Promise<T | undefined> {
    const key = this.keyOf(purpose, token);
    return key ? this.decode<T>(await this.kv.take(key))?.payload : undefined;
  }

  /** Puts a redeemed token back for the rest of its life (when the work it was taken for failed). */
  async restore<T>(purpose: TokenPurpose, token: string, payload: T, expiresAt: number): Promise<void> {
    const key = this.keyOf(purpose, token);
    const left = Math.floor((expiresAt - this.clock.now()) / 1000);
    if (key && left > 0) await this.kv.set(key, JSON.stringify({ payload, expiresAt } satisfies Stored<T>), left);
  }

  async revoke(purpose: TokenPurpose, hash: string): Promise<void> {
    await this.kv.delete(SingleUseTokens.key(purpose, hash));
  }
}
