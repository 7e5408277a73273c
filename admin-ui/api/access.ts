/**
 * Who may do what in the admin API. Three roles: platform admin (everything), manager of specific
 * collectives (their members, grants, invitations, managers and audit), member (sees the collectives
 * they belong to, may leave). For a collective the caller does not belong to, the answer is the same
 * 404 whether or not it exists, so nothing about other collectives leaks.
 */
import type { Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Caller } from '../../kernel/caller.ts';

export function callerOf(res: Response): Caller {
  const caller = res.locals.caller as Caller | undefined;
  // Routes are mounted behind `authenticate`; reaching here without a caller is a wiring bug: fail closed.
  if (!caller) throw new AppError(401, 'unauthorized', 'Sign in first.');
  return caller;
}

export const collectiveHidden = () => new AppError(404, 'collective_not_found', 'No such collective.');

export function requirePlatformAdmin(caller: Caller): void {
  if (!caller.platformAdmin) throw new AppError(403, 'forbidden', 'Only platform admins can do this.');
}

/** The caller may see this collective (admin or member); otherwise 404 as if it did not exist. */
export function requireVisible(caller: Caller, collectiveId: string): void {
  if (caller.platformAdmin || caller.memberOf.includes(collectiveId)) return;
  throw collectiveHidden();
}

/** The caller may manage this collective (admin or one of its managers). */
export function requireManager(caller: Caller, collectiveId: string): void {
  requireVisible(caller, collectiveId);
  if (caller.platformAdmin || caller.managerOf.includes(collectiveId)) return;
  throw new AppError(403, 'forbidden', 'Only managers of this collective can do this.');
}
