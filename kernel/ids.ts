import { randomBytes, randomUUID, timingSafeEqual, createHash, hash } from 'node:crypto';

/** An unguessable token, URL-safe. 32 bytes = 256 bits. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function newId(): string {
  return randomUUID();
}

/**
 * Ids for records made at a high rate (a usage record per proxied request), unique across processes
 * and restarts without a random draw each: a random 96-bit prefix per sequence, then a counter. Not
 * secrets (they are idempotency keys); use `newId` or `randomToken` where an id must not be guessed.
 */
export function idSequence(): () => string {
  const prefix = randomBytes(12).toString('base64url');
  let next = 0;
  return () => `${prefix}.${(next++).toString(36)}`;
}

/** Compares secrets in constant time (hashing first so lengths never leak). */
export function secretsEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

export function sha256Hex(value: string): string {
  return hash('sha256', value, 'hex'); // one-shot: about half the cost of createHash().update().digest()
}
