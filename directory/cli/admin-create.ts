/**
 * `porta admin create`: bootstraps a platform admin. Refuses to touch an existing account (so it
 * cannot be used to take one over); the account's email counts as verified.
 */
import { AppError } from '../../kernel/errors.ts';
import type { AuditLog } from '../audit.ts';
import { accountSnapshot } from '../audit.ts';
import type { Account, Directory } from '../types.ts';

export interface PlatformAdminInput {
  username: string;
  email: string;
  password: string;
  name?: string;
}

export async function createPlatformAdmin(directory: Directory, input: PlatformAdminInput, options: { audit?: AuditLog } = {}): Promise<Account> {
  if (directory.readOnly) {
    throw new AppError(409, 'directory_read_only', 'The directory is read-only: add the account to the admin group in your LDAP directory instead.');
  }
  const account = await directory.createAccount({
    username: input.username,
    email: input.email,
    name: input.name?.trim() || input.username,
    password: input.password,
    emailVerified: true,
    platformAdmin: true,
  });
  await options.audit?.record({ actor: 'system', action: 'account.create', target: { type: 'account', id: account.id }, after: accountSnapshot(account) });
  return account;
}
