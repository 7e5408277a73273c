import { randomBytes, randomUUID, timingSafeEqual, createHash, hash } from 'node:crypto';

/** An unguessable token, URL-safe. 32 bytes = 256 bits. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function newId(): string {
  return randomUUID();
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
