/**
 * Directory routes of the admin API: accounts, the caller's own account, collectives, members,
 * grants, managers, invitations, audit and the mail outbox. Authorization is decided here, from
 * `res.locals.caller` only (see access.ts); the directory enforces the data rules (contracted
 * services, uniqueness) a second time.
 */
import { Router, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Caller } from '../../kernel/caller.ts';
import type { Broadcast } from '../../store/types.ts';
import type { Account, Directory, Membership } from '../../directory/types.ts';
import type { AccountFlows, DeletedAccount } from '../../directory/accounts/account-flows.ts';
import { accountSnapshot, type AuditEvent, type AuditLog } from '../../directory/audit.ts';
import type { OutboxMailer } from '../../directory/mail/outbox.ts';
import { accountNotFound } from '../../directory/errors.ts';
import { callerOf, collectiveHidden, requireManager, requirePlatformAdmin, requireVisible } from './access.ts';
import { pagingQuery, parseBody, parseQuery } from './validate.ts';
import {
  accountCreateBody,
  accountPatchBody,
  accountsQuery,
  auditQuery,
  collectiveCreateBody,
  collectivePatchBody,
  emptyBody,
  grantsBody,
  invitationAcceptBody,
  invitationCreateBody,
  managerBody,
  memberAddBody,
  outboxQuery,
  passwordChangeBody,
  selfPatchBody,
} from './schemas.ts';

/** Channel on which every directory change is announced (IdP and gateway drop cached identities). */
export const DIRECTORY_CHANGES = 'directory.changes';

export interface DirectoryRoutesDeps {
  directory: Directory;
  flows: AccountFlows;
  audit: AuditLog;
  /** Present when mail goes to the outbox (no SMTP configured). */
  outbox?: OutboxMailer;
  broadcast?: Broadcast;
  /**
   * Runs after an account was deleted (by itself or by an admin), e.g. metering moving its usage to
   * the anonymous id. A failure is reported (503) and logged: the account is gone either way.
   */
  onAccountDeleted?: (deleted: DeletedAccount) => Promise<void>;
}

const COLLECTIVE_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function directoryRoutes(deps: DirectoryRoutesDeps): Router {
  const { directory, flows, audit } = deps;
  const router = Router();

  async function changed(caller: Caller, event: Omit<AuditEvent, 'actor'>, affected: { accountId?: string; collectiveId?: string }): Promise<void> {
    await audit.record({ actor: caller.accountId, ...event });
    await deps.broadcast?.publish(DIRECTORY_CHANGES, JSON.stringify(affected)).catch(() => undefined);
  }

  /** Route param `:cid` that cannot be a collective id is reported like a hidden one. */
  function collectiveParam(value: string): string {
    if (!COLLECTIVE_ID.test(value)) throw collectiveHidden();
    return value;
  }

  async function membershipIn(collectiveId: string, accountId: string): Promise<Membership | undefined> {
    return (await directory.membershipsOf(accountId)).find((m) => m.collectiveId === collectiveId);
  }

  const send = (res: Response, status: number, body: unknown) => res.status(status).json(body);

  async function afterDeletion(deleted: DeletedAccount): Promise<void> {
    await deps.broadcast?.publish(DIRECTORY_CHANGES, JSON.stringify({ accountId: deleted.accountId })).catch(() => undefined);
    if (!deps.onAccountDeleted) return;
    try {
      await deps.onAccountDeleted(deleted);
    } catch (error) {
      throw new AppError(503, 'deletion_incomplete', 'The account was deleted, but its usage records could not be moved to its anonymous id yet; an operator has to finish this (see the log).', {
        cause: error,
        detail: `onAccountDeleted failed for ${deleted.accountId} -> ${deleted.anonymousId}: ${String(error)}`,
      });
    }
  }

  // ---- the caller -----------------------------------------------------------------------------

  router.get('/me', async (_req, res) => {
    const caller = callerOf(res);
    const account = await directory.getAccount(caller.accountId);
    if (!account) throw accountNotFound();
    send(res, 200, { ...account, memberships: await directory.membershipsOf(caller.accountId) });
  });

  router.patch('/me', async (req, res) => {
    const caller = callerOf(res);
    const body = parseBody(selfPatchBody, req);
    const before = await directory.getAccount(caller.accountId);
    const after = await directory.updateAccount(caller.accountId, { name: body.name });
    await changed(caller, { action: 'account.update', target: { type: 'account', id: caller.accountId }, before: accountSnapshot(before), after: { ...accountSnapshot(after), name: 'changed' } }, { accountId: caller.accountId });
    send(res, 200, after);
  });

  router.post('/me/password', async (req, res) => {
    const caller = callerOf(res);
    const body = parseBody(passwordChangeBody, req);
    await flows.changePassword(caller.accountId, body.currentPassword, body.newPassword);
    res.status(204).end();
  });

  router.delete('/me', async (_req, res) => {
    const caller = callerOf(res);
    const deleted = await flows.deleteAccount(caller.accountId, caller.accountId);
    await afterDeletion(deleted);
    send(res, 200, deleted);
  });

  // ---- accounts (platform admins) -------------------------------------------------------------

  router.get('/accounts', async (req, res) => {
    requirePlatformAdmin(callerOf(res));
    const q = parseQuery(accountsQuery, req);
    send(res, 200, await directory.searchAccounts(q));
  });

  router.post('/accounts', async (req, res) => {
    const caller = callerOf(res);
    requirePlatformAdmin(caller);
    const body = parseBody(accountCreateBody, req);
    const account = await directory.createAccount(body);
    await changed(caller, { action: 'account.create', target: { type: 'account', id: account.id }, after: accountSnapshot(account) }, { accountId: account.id });
    send(res, 201, account);
  });

  router.get('/accounts/:id', async (req, res) => {
    const caller = callerOf(res);
    if (!caller.platformAdmin && caller.accountId !== req.params.id) requirePlatformAdmin(caller);
    const account = await directory.getAccount(req.params.id);
    if (!account) throw accountNotFound();
    send(res, 200, { ...account, memberships: await directory.membershipsOf(account.id) });
  });

  router.patch('/accounts/:id', async (req, res) => {
    const caller = callerOf(res);
    requirePlatformAdmin(caller);
    const body = parseBody(accountPatchBody, req);
    const before = await directory.getAccount(req.params.id);
    if (!before) throw accountNotFound();
    if (req.params.id === caller.accountId && (body.platformAdmin === false || body.status === 'suspended')) {
      throw new AppError(409, 'self_lockout', 'You cannot remove your own platform admin role or suspend yourself; ask another platform admin.');
    }
    const after = await directory.updateAccount(req.params.id, body);
    const changedFields = Object.keys(body).filter((k) => k === 'email' || k === 'name');
    await changed(
      caller,
      { action: 'account.update', target: { type: 'account', id: after.id }, before: accountSnapshot(before), after: { ...accountSnapshot(after), ...Object.fromEntries(changedFields.map((k) => [k, 'changed'])) } },
      { accountId: after.id },
    );
    send(res, 200, after);
  });

  router.delete('/accounts/:id', async (req, res) => {
    const caller = callerOf(res);
    requirePlatformAdmin(caller);
    if (req.params.id === caller.accountId) throw new AppError(409, 'self_lockout', 'Delete your own account with DELETE /me.');
    const deleted = await flows.deleteAccount(req.params.id, caller.accountId);
    await afterDeletion(deleted);
    send(res, 200, deleted);
  });

  // ---- collectives ----------------------------------------------------------------------------

  router.get('/collectives', async (req, res) => {
    const caller = callerOf(res);
    const paging = parseQuery(pagingQuery, req);
    if (caller.platformAdmin) {
      send(res, 200, await directory.listCollectives(paging));
      return;
    }
    const own = (await Promise.all(caller.memberOf.map((id) => directory.getCollective(id)))).filter((c) => c !== undefined);
    send(res, 200, { items: own, total: own.length });
  });

  router.post('/collectives', async (req, res) => {
    const caller = callerOf(res);
    requirePlatformAdmin(caller);
    const body = parseBody(collectiveCreateBody, req);
    const collective = await directory.createCollective(body);
    await changed(caller, { action: 'collective.create', target: { type: 'collective', id: collective.id }, collectiveId: collective.id, after: collective }, { collectiveId: collective.id });
    send(res, 201, collective);
  });

  router.get('/collectives/:cid', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireVisible(caller, cid);
    const collective = await directory.getCollective(cid);
    if (!collective) throw collectiveHidden();
    send(res, 200, collective);
  });

  router.patch('/collectives/:cid', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requirePlatformAdmin(caller);
    const body = parseBody(collectivePatchBody, req);
    const before = await directory.getCollective(cid);
    if (!before) throw collectiveHidden();
    const after = await directory.updateCollective(cid, body);
    await changed(caller, { action: 'collective.update', target: { type: 'collective', id: cid }, collectiveId: cid, before, after }, { collectiveId: cid });
    send(res, 200, after);
  });

  router.delete('/collectives/:cid', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requirePlatformAdmin(caller);
    const before = await directory.getCollective(cid);
    if (!before) throw collectiveHidden();
    await directory.deleteCollective(cid);
    await changed(caller, { action: 'collective.delete', target: { type: 'collective', id: cid }, collectiveId: cid, before }, { collectiveId: cid });
    res.status(204).end();
  });

  // ---- members, grants, managers --------------------------------------------------------------

  router.get('/collectives/:cid/members', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    send(res, 200, await directory.listMembers(cid, parseQuery(pagingQuery, req)));
  });

  router.post('/collectives/:cid/members', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    const body = parseBody(memberAddBody, req);
    const account: Account | undefined = body.accountId ? await directory.getAccount(body.accountId) : await directory.findAccount(body.login!);
    if (!account) throw accountNotFound();
    const before = await membershipIn(cid, account.id);
    await directory.addMember(cid, account.id);
    const after = await membershipIn(cid, account.id);
    if (!before) await changed(caller, { action: 'member.add', target: { type: 'membership', id: `${cid}/${account.id}` }, collectiveId: cid, after }, { accountId: account.id, collectiveId: cid });
    send(res, before ? 200 : 201, { accountId: account.id, username: account.username, ...after });
  });

  async function removeMember(caller: Caller, cid: string, accountId: string, action: string): Promise<void> {
    const before = await membershipIn(cid, accountId);
    await directory.removeMember(cid, accountId);
    await changed(caller, { action, target: { type: 'membership', id: `${cid}/${accountId}` }, collectiveId: cid, before }, { accountId, collectiveId: cid });
  }

  router.delete('/collectives/:cid/members/:aid', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    if (req.params.aid === caller.accountId) requireVisible(caller, cid);
    else requireManager(caller, cid);
    await removeMember(caller, cid, req.params.aid, req.params.aid === caller.accountId ? 'member.leave' : 'member.remove');
    res.status(204).end();
  });

  router.post('/collectives/:cid/leave', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireVisible(caller, cid);
    parseBody(emptyBody, req);
    await removeMember(caller, cid, caller.accountId, 'member.leave');
    res.status(204).end();
  });

  router.put('/collectives/:cid/members/:aid/grants', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    const body = parseBody(grantsBody, req);
    const before = await membershipIn(cid, req.params.aid);
    await directory.setGrants(cid, req.params.aid, body.services);
    const after = await membershipIn(cid, req.params.aid);
    await changed(caller, { action: 'grant.set', target: { type: 'membership', id: `${cid}/${req.params.aid}` }, collectiveId: cid, before, after }, { accountId: req.params.aid, collectiveId: cid });
    send(res, 200, after);
  });

  router.put('/collectives/:cid/members/:aid/manager', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    const body = parseBody(managerBody, req);
    const before = await membershipIn(cid, req.params.aid);
    await directory.setManager(cid, req.params.aid, body.manager);
    const after = await membershipIn(cid, req.params.aid);
    await changed(caller, { action: body.manager ? 'manager.appoint' : 'manager.dismiss', target: { type: 'membership', id: `${cid}/${req.params.aid}` }, collectiveId: cid, before, after }, { accountId: req.params.aid, collectiveId: cid });
    send(res, 200, after);
  });

  // ---- invitations ----------------------------------------------------------------------------

  router.get('/collectives/:cid/invitations', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    const items = await flows.invitations.list(cid);
    send(res, 200, { items, total: items.length });
  });

  router.post('/collectives/:cid/invitations', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    const body = parseBody(invitationCreateBody, req);
    send(res, 201, await flows.invitations.invite(cid, body.email, caller.accountId));
  });

  router.delete('/collectives/:cid/invitations/:iid', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    await flows.invitations.withdraw(cid, req.params.iid, caller.accountId);
    res.status(204).end();
  });

  router.post('/invitations/accept', async (req, res) => {
    const caller = callerOf(res);
    const body = parseBody(invitationAcceptBody, req);
    const { account, collectiveId } = await flows.invitations.accept(body.token, { accountId: caller.accountId });
    await deps.broadcast?.publish(DIRECTORY_CHANGES, JSON.stringify({ accountId: account.id, collectiveId })).catch(() => undefined);
    send(res, 200, { collectiveId, accountId: account.id });
  });

  // ---- audit and outbox -----------------------------------------------------------------------

  router.get('/audit', async (req, res) => {
    const caller = callerOf(res);
    const q = parseQuery(auditQuery, req);
    if (q.collective) requireManager(caller, collectiveParam(q.collective));
    else requirePlatformAdmin(caller);
    send(res, 200, await audit.list({ collectiveId: q.collective, limit: q.limit, cursor: q.cursor }));
  });

  router.get('/collectives/:cid/audit', async (req, res) => {
    const caller = callerOf(res);
    const cid = collectiveParam(req.params.cid);
    requireManager(caller, cid);
    const q = parseQuery(auditQuery.omit({ collective: true }), req);
    send(res, 200, await audit.list({ collectiveId: cid, limit: q.limit, cursor: q.cursor }));
  });

  router.get('/outbox', async (req, res) => {
    requirePlatformAdmin(callerOf(res));
    const q = parseQuery(outboxQuery, req);
    if (!deps.outbox) throw new AppError(404, 'no_outbox', 'Mail is sent by SMTP here; there is no outbox to read.');
    send(res, 200, await deps.outbox.list(q));
  });

  return router;
}
