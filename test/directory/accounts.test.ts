import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { AppError } from '../../kernel/errors.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { AuditLog } from '../../directory/audit.ts';
import { OutboxMailer } from '../../directory/mail/outbox.ts';
import { AccountFlows, type RegistrationMode } from '../../directory/accounts/account-flows.ts';
import { linksFor } from '../../directory/accounts/links.ts';

const TTL = { verificationTtlSeconds: 3600, resetTtlSeconds: 600, invitationTtlSeconds: 86400 };
const PASSWORD = 'correct horse battery';

async function failure(promise: Promise<unknown>): Promise<AppError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(AppError);
  return error as AppError;
}

function tokenIn(text: string): string {
  const match = text.match(/\?token=([A-Za-z0-9_-]+)/);
  if (!match) throw new Error(`no link in: ${text}`);
  return match[1];
}

describe('account flows (embedded store, outbox mail)', () => {
  let stores: Stores;
  let clock: ManualClock;
  let directory: EmbeddedDirectory;
  let outbox: OutboxMailer;
  let audit: AuditLog;

  const flows = (registration: RegistrationMode) =>
    new AccountFlows({ directory, kv: stores.kv, documents: stores.documents, mailer: outbox, audit, links: linksFor('https://id.example.coop/'), registration, ttl: TTL, clock });
  const lastMailTo = async (to: string) => (await outbox.list({ to })).items[0];

  beforeEach(async () => {
    clock = new ManualClock();
    stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' }, { clock });
    directory = new EmbeddedDirectory({ documents: stores.documents, clock, services: ['oficina'] });
    outbox = new OutboxMailer({ documents: stores.documents, from: 'Porta <porta@example.coop>', clock });
    audit = new AuditLog(stores.ledger, clock);
    await directory.createCollective({ id: 'femprocomuns', name: 'Femprocomuns', services: ['oficina'] });
  });
  afterEach(async () => {
    await stores.close();
  });

  it('open registration creates an unverified account and mails a single-use verification link', async () => {
    const f = flows('open');
    const account = await f.register({ username: 'Nuria', email: 'Nuria@Example.org', name: 'Núria', password: PASSWORD });
    expect(account.username).toBe('nuria');
    expect(account.emailVerified).toBe(false);
    const mail = await lastMailTo('nuria@example.org');
    expect(mail.subject).toMatch(/Confirm your email/);
    expect(mail.text).toContain('https://id.example.coop/account/verify-email?token=');
    const token = tokenIn(mail.text);
    expect((await f.verifyEmail(token)).emailVerified).toBe(true);
    expect((await directory.getAccount(account.id))?.emailVerified).toBe(true);
    expect((await failure(f.verifyEmail(token))).status).toBe(410);
    const actions = (await audit.list()).items.map((r) => r.action);
    expect(actions).toEqual(['account.register', 'account.verify-email']);
    expect(JSON.stringify((await audit.list()).items)).not.toContain('nuria@example.org');
  });

  it('verification links expire, and do not verify an address the account no longer has', async () => {
    const f = flows('open');
    const a = await f.register({ username: 'late', email: 'late@example.org', name: 'Late', password: PASSWORD });
    const token = tokenIn((await lastMailTo('late@example.org')).text);
    clock.advance(TTL.verificationTtlSeconds * 1000 + 1);
    expect((await failure(f.verifyEmail(token))).code).toBe('link_invalid');

    await f.sendVerification(a.id);
    const second = tokenIn((await lastMailTo('late@example.org')).text);
    await directory.updateAccount(a.id, { email: 'moved@example.org' });
    expect((await failure(f.verifyEmail(second))).status).toBe(410);
    expect((await directory.getAccount(a.id))?.emailVerified).toBe(false);
  });

  it('closed registration refuses everyone', async () => {
    const error = await failure(flows('closed').register({ username: 'x1', email: 'x1@example.org', name: 'X', password: PASSWORD }));
    expect(error.status).toBe(403);
    expect(error.code).toBe('registration_closed');
    expect((await directory.searchAccounts({})).total).toBe(0);
  });

  it('invitation-only registration needs an invitation; accepting creates a verified member, once', async () => {
    const f = flows('invitation');
    expect((await failure(f.register({ username: 'x2', email: 'x2@example.org', name: 'X', password: PASSWORD }))).code).toBe('invitation_required');
    const invitation = await f.invitations.invite('femprocomuns', 'New@Example.org', 'manager-id');
    expect(invitation.email).toBe('new@example.org');
    expect(await f.invitations.list('femprocomuns')).toHaveLength(1);
    const mail = await lastMailTo('new@example.org');
    expect(mail.subject).toContain('Femprocomuns');
    const token = tokenIn(mail.text);
    expect(await f.invitations.describe(token)).toEqual({ collectiveId: 'femprocomuns', collectiveName: 'Femprocomuns', email: 'new@example.org' });
    // The invited address wins over whatever the form says.
    const account = await f.register({ username: 'newbie', email: 'other@example.org', name: 'New', password: PASSWORD }, { invitationToken: token });
    expect(account.email).toBe('new@example.org');
    expect(account.emailVerified).toBe(true);
    expect(await directory.membershipsOf(account.id)).toEqual([{ collectiveId: 'femprocomuns', manager: false, grants: [] }]);
    expect(await f.invitations.list('femprocomuns')).toHaveLength(0);
    expect((await failure(f.register({ username: 'again', email: 'a@example.org', name: 'A', password: PASSWORD }, { invitationToken: token }))).code).toBe('invitation_invalid');
    expect((await audit.list({ collectiveId: 'femprocomuns' })).items.map((r) => r.action)).toEqual(['invitation.create', 'invitation.accept']);
  });

  it('invitations expire', async () => {
    const f = flows('open');
    await f.invitations.invite('femprocomuns', 'slow@example.org', 'manager-id');
    const token = tokenIn((await lastMailTo('slow@example.org')).text);
    clock.advance(TTL.invitationTtlSeconds * 1000 + 1);
    expect(await f.invitations.list('femprocomuns')).toHaveLength(0);
    expect((await failure(f.invitations.accept(token, { username: 'slow', name: 'Slow', password: PASSWORD }))).status).toBe(410);
  });

  it('an invitation links a signed-in account; an existing address must sign in first (and keeps its link)', async () => {
    const f = flows('open');
    const existing = await directory.createAccount({ username: 'member', email: 'member@example.org', name: 'M', password: PASSWORD });
    await f.invitations.invite('femprocomuns', 'member@example.org', 'manager-id');
    const token = tokenIn((await lastMailTo('member@example.org')).text);
    const conflict = await failure(f.invitations.accept(token, { username: 'member2', name: 'M', password: PASSWORD }));
    expect(conflict.code).toBe('account_exists');
    const { account } = await f.invitations.accept(token, { accountId: existing.id });
    expect(account.id).toBe(existing.id);
    expect((await directory.membershipsOf(existing.id)).map((m) => m.collectiveId)).toEqual(['femprocomuns']);
  });

  it('caps invitations per collective per day', async () => {
    const f = new AccountFlows({ directory, kv: stores.kv, documents: stores.documents, counters: stores.counters, invitationsPerDay: 2, mailer: outbox, audit, links: linksFor('https://id.example.coop'), registration: 'open', ttl: TTL, clock });
    await f.invitations.invite('femprocomuns', 'one@example.org', 'm');
    await f.invitations.invite('femprocomuns', 'two@example.org', 'm');
    const third = await failure(f.invitations.invite('femprocomuns', 'three@example.org', 'm'));
    expect(third.status).toBe(429);
    expect(third.code).toBe('too_many_invitations');
    expect((await outbox.list({ to: 'three@example.org' })).total).toBe(0);
    clock.advance(86_400_000 + 1);
    await f.invitations.invite('femprocomuns', 'three@example.org', 'm');
    expect((await outbox.list({ to: 'three@example.org' })).total).toBe(1);
  });

  it('withdrawn invitations stop working', async () => {
    const f = flows('open');
    const invitation = await f.invitations.invite('femprocomuns', 'gone@example.org', 'manager-id');
    const token = tokenIn((await lastMailTo('gone@example.org')).text);
    await f.invitations.withdraw('femprocomuns', invitation.id, 'manager-id');
    expect((await failure(f.invitations.accept(token, { username: 'gone', name: 'G', password: PASSWORD }))).status).toBe(410);
    expect((await failure(f.invitations.withdraw('femprocomuns', invitation.id, 'manager-id'))).status).toBe(404);
  });

  it('password reset: no mail for unknown logins, single use, expiring, a bad password does not burn the link', async () => {
    const f = flows('open');
    const a = await directory.createAccount({ username: 'forgetful', email: 'forgetful@example.org', name: 'F', password: PASSWORD });
    await f.requestPasswordReset('nobody@example.org');
    await f.requestPasswordReset('*');
    expect((await outbox.list()).total).toBe(0);
    await f.requestPasswordReset('FORGETFUL');
    const mail = await lastMailTo('forgetful@example.org');
    expect(mail.text).toContain('/account/reset-password?token=');
    const token = tokenIn(mail.text);
    expect((await failure(f.resetPassword(token, 'short'))).fields).toHaveProperty('password');
    await f.resetPassword(token, 'a new long password');
    expect(await directory.authenticate('forgetful', PASSWORD)).toBeUndefined();
    expect((await directory.authenticate('forgetful', 'a new long password'))?.id).toBe(a.id);
    expect((await failure(f.resetPassword(token, 'yet another password'))).status).toBe(410);

    clock.advance(61_000);
    await f.requestPasswordReset('forgetful@example.org');
    const late = tokenIn((await lastMailTo('forgetful@example.org')).text);
    clock.advance(TTL.resetTtlSeconds * 1000 + 1);
    expect((await failure(f.resetPassword(late, 'yet another password'))).status).toBe(410);
    expect((await failure(f.resetPassword('not-a-token', 'yet another password'))).status).toBe(410);
  });

  it('sends at most one reset or verification mail per account per minute', async () => {
    const f = flows('open');
    await f.register({ username: 'bombed', email: 'bombed@example.org', name: 'B', password: PASSWORD });
    for (let i = 0; i < 5; i++) {
      await f.requestPasswordReset('bombed');
      await f.sendVerification((await directory.findAccount('bombed'))!.id);
    }
    const subjects = (await outbox.list({ to: 'bombed@example.org' })).items.map((m) => m.subject).sort();
    expect(subjects).toEqual(['Confirm your email address', 'Reset your password']);
    clock.advance(61_000);
    await f.requestPasswordReset('bombed');
    expect((await outbox.list({ to: 'bombed@example.org' })).total).toBe(3);
  });

  it('password change needs the current password', async () => {
    const f = flows('open');
    const a = await directory.createAccount({ username: 'changer', email: 'changer@example.org', name: 'C', password: PASSWORD });
    expect((await failure(f.changePassword(a.id, 'wrong password!!', 'a new long password'))).fields).toHaveProperty('currentPassword');
    await f.changePassword(a.id, PASSWORD, 'a new long password');
    expect(await directory.authenticate('changer', 'a new long password')).toBeDefined();
  });

  it('deletion removes the account and returns the anonymous id its usage stays under', async () => {
    const f = flows('open');
    const a = await directory.createAccount({ username: 'leaver', email: 'leaver@example.org', name: 'Leaver', password: PASSWORD });
    const b = await directory.createAccount({ username: 'stayer', email: 'stayer@example.org', name: 'S', password: PASSWORD });
    await directory.addMember('femprocomuns', a.id);
    const expected = await f.anonymousIdOf(a.id);
    const deleted = await f.deleteAccount(a.id, a.id);
    expect(deleted).toEqual({ accountId: a.id, anonymousId: expected });
    expect(deleted.anonymousId).toMatch(/^anon-[0-9a-f]{64}$/);
    expect(deleted.anonymousId).not.toContain(a.id);
    expect(await f.anonymousIdOf(b.id)).not.toBe(expected);
    // The secret is kept in the store: another instance over the same store maps the same way.
    expect(await flows('open').anonymousIdOf(a.id)).toBe(expected);
    expect(await directory.getAccount(a.id)).toBeUndefined();
    expect(await directory.findAccount('leaver@example.org')).toBeUndefined();
    const log = JSON.stringify((await audit.list()).items);
    expect(log).toContain('account.delete');
    expect(log).not.toContain('leaver@example.org');
    expect(log).not.toContain('Leaver');
  });
});
