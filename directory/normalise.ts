/**
 * Normalising and validating the names people type. Usernames and emails are compared in one form
 * only: Unicode NFKC, trimmed, lower case. Lookups normalise but never validate (a lookup with odd
 * characters simply finds nothing); creation validates and names the bad field.
 */
import { badRequest } from '../kernel/errors.ts';

export function normaliseLogin(value: string): string {
  return value.normalize('NFKC').trim().toLowerCase();
}

/**
 * True for a lookup term no account can match: control characters (NUL included) are never part of a
 * valid username, email or name, and some LDAP servers normalise them away, widening the match.
 */
export function unmatchable(term: string): boolean {
  return /\p{Cc}/u.test(term);
}

const USERNAME = /^[a-z0-9][a-z0-9._-]{1,62}$/;
// Deliberately simple: one @, a dot in the domain, no spaces or control characters.
const EMAIL = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]+\.[^\s@\p{Cc}]+$/u;
const COLLECTIVE_ID = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** Collective ids that could be mistaken for platform roles or Porta's own LDAP groups. */
const RESERVED_COLLECTIVE_IDS = new Set(['admin', 'admins', 'administrators', 'root', 'platform', 'platform-admin', 'platform-admins', 'staff', 'system']);

export function validUsername(raw: string): string {
  const username = normaliseLogin(raw);
  if (!USERNAME.test(username)) {
    throw badRequest('The username is not valid.', { username: 'use 2 to 63 letters, digits, dots, dashes or underscores, starting with a letter or digit' });
  }
  return username;
}

export function validEmail(raw: string): string {
  const email = normaliseLogin(raw);
  if (email.length > 254 || !EMAIL.test(email)) throw badRequest('The email address is not valid.', { email: 'must be an address like name@example.org' });
  return email;
}

export function validName(raw: string, field = 'name'): string {
  const name = raw.normalize('NFKC').trim();
  if (name.length < 1 || name.length > 200 || /\p{Cc}/u.test(name)) throw badRequest('The name is not valid.', { [field]: 'must be 1 to 200 characters, without control characters' });
  return name;
}

export function validCollectiveId(raw: string): string {
  const id = raw.trim().toLowerCase();
  if (!COLLECTIVE_ID.test(id)) throw badRequest('The collective id is not valid.', { id: 'use 2 to 63 lower-case letters, digits or dashes' });
  if (RESERVED_COLLECTIVE_IDS.has(id) || id.startsWith('porta-')) throw badRequest('That collective id is reserved.', { id: 'is reserved for the platform' });
  return id;
}

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 256;

/** NIST 800-63B style: length is what matters; no composition rules. */
export function validPassword(password: string, field = 'password'): string {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) {
    throw badRequest('The password is not acceptable.', { [field]: `must be ${PASSWORD_MIN} to ${PASSWORD_MAX} characters` });
  }
  return password;
}

/** Services a collective may contract: must be ids of configured services. */
export function validServices(services: string[], known: ReadonlySet<string> | undefined, field = 'services'): string[] {
  const unique = [...new Set(services)].sort();
  if (known) {
    const unknown = unique.filter((s) => !known.has(s));
    if (unknown.length) throw badRequest('Unknown service.', { [field]: `unknown service id(s): ${unknown.join(', ')}` });
  }
  return unique;
}
