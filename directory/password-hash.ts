/**
 * Password hashing for the embedded directory: argon2id with the OWASP minimum parameters
 * (m = 19456 KiB, t = 2, p = 1). `verifyPassword` never throws on a malformed stored hash: it answers
 * false, so a corrupt record fails closed.
 */
import { hash, verify } from '@node-rs/argon2';

const OPTIONS = { memoryCost: 19456, timeCost: 2, parallelism: 1, algorithm: 2 as const };

export async function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password);
  } catch {
    return false;
  }
}

let dummy: Promise<string> | undefined;

/**
 * Spends about the time of a real verification, for logins naming an account that does not exist,
 * so response times do not tell which usernames are registered.
 */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummy ??= hashPassword('porta-dummy-password-never-matches');
  await verifyPassword(await dummy, password);
  return false;
}
