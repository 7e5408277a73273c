/**
 * Recovery codes: ten random codes shown once at enrolment, kept only as SHA-256 hashes. They carry
 * 50 bits of entropy each, so a plain hash is enough (no password-hashing cost needed), and each is
 * removed when used.
 */
import { randomBytes } from 'node:crypto';
import { secretsEqual, sha256Hex } from '../../kernel/ids.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

function oneCode(): string {
  const bytes = randomBytes(10);
  let out = '';
  for (const byte of bytes) out += ALPHABET[byte % ALPHABET.length];
  return `${out.slice(0, 5)}-${out.slice(5)}`;
}

/** Lower case, no spaces or dashes: what a person types is compared in this form. */
export function normaliseRecoveryCode(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export function hashRecoveryCode(code: string): string {
  return sha256Hex(`porta-recovery:${normaliseRecoveryCode(code)}`);
}

export function newRecoveryCodes(): { codes: string[]; hashes: string[] } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, oneCode);
  return { codes, hashes: codes.map(hashRecoveryCode) };
}

/** Index of the hash `code` matches, or -1; compares against every hash. */
export function findRecoveryCode(hashes: string[], code: string): number {
  const given = hashRecoveryCode(code);
  let found = -1;
  hashes.forEach((hash, index) => {
    if (secretsEqual(hash, given) && found < 0) found = index;
  });
  return found;
}
