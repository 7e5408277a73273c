/**
 * Helpers for moving directory content between backends (`porta export` / `porta import`):
 * which password hash formats each backend can keep, and a type guard for `DirectoryTransfer`.
 *
 * Only hashes the target can verify are accepted, so an import never leaves an account whose
 * password silently stopped working: argon2 (PHC string) everywhere; `{CRYPT}` only in LDAP
 * (slapd verifies it with the system crypt(3)). Anything else (`{SSHA}`, `{MD5}`, clear text) is
 * refused; such accounts can be imported without `passwordHash` and people reset their password.
 */
import type { Directory, DirectoryTransfer } from './types.ts';

const ARGON2 = /^\$argon2(id|i|d)\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/;
const LDAP_ARGON2 = /^\{ARGON2\}/i;
const LDAP_CRYPT = /^\{CRYPT\}\$[0-9a-z]+\$/i;

export function supportsTransfer(directory: Directory): directory is Directory & DirectoryTransfer {
  const d = directory as Partial<DirectoryTransfer>;
  return typeof d.importAccount === 'function' && typeof d.importMembership === 'function' && typeof d.passwordHashOf === 'function' && typeof d.refusesPasswordHash === 'function';
}

/** `$argon2id$…` for an argon2 hash in either spelling; undefined for anything else. */
export function argon2Phc(hash: string): string | undefined {
  const bare = hash.replace(LDAP_ARGON2, '');
  return ARGON2.test(bare) ? bare : undefined;
}

export function isLdapCrypt(hash: string): boolean {
  return LDAP_CRYPT.test(hash);
}
