/**
 * BigBlueButton API checksums: hex(HASH(callName + queryWithoutChecksum + secret)), the hash chosen
 * by the checksum's length (40 sha1, 64 sha256, 96 sha384, 128 sha512), compared without regard to
 * case. The comparison is constant-time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export type ChecksumAlgorithm = 'sha1' | 'sha256' | 'sha384' | 'sha512';

const BY_LENGTH: Record<number, ChecksumAlgorithm> = { 40: 'sha1', 64: 'sha256', 96: 'sha384', 128: 'sha512' };

export function algorithmFor(checksum: string): ChecksumAlgorithm | undefined {
  return /^[0-9a-fA-F]+$/.test(checksum) ? BY_LENGTH[checksum.length] : undefined;
}

export function sign(call: string, query: string, secret: string, algorithm: ChecksumAlgorithm): string {
  return createHash(algorithm).update(call + query + secret).digest('hex');
}

/** True when `checksum` signs `call` + `query` with `secret`, with the algorithm its length names. */
export function verify(call: string, query: string, checksum: string, secret: string, allowed: readonly ChecksumAlgorithm[]): ChecksumAlgorithm | undefined {
  const algorithm = algorithmFor(checksum);
  if (!algorithm || !allowed.includes(algorithm)) return undefined;
  const expected = Buffer.from(sign(call, query, secret, algorithm), 'ascii');
  const given = Buffer.from(checksum.toLowerCase(), 'ascii');
  return expected.length === given.length && timingSafeEqual(expected, given) ? algorithm : undefined;
}
