/**
 * Invitations to a collective: by email, single use, expiring. Accepting one either links the
 * signed-in account or creates a new account for the invited address (verified, since the link was
 * opened from that mailbox), and adds the membership.
 *
 * The pending invitation is a document (`directory.invitations`, `<collective>/<id>`) so managers can
 * list and withdraw it; the token lives only in the mail and, hashed, in the KeyValueStore.
 */
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import { AppError } from '../../kernel/errors.ts';
import { newId } from '../../kernel/ids.ts';
import type { CounterStore, DocumentStore } from '../../store/types.ts';
import type { Account, Directory } from '../types.ts';
import type { AuditLog } from '../audit.ts';
import { accountSnapshot } from '../audit.ts';
import { accountNotFound, collectiveNotFound, usernameTaken } from '../errors.ts';
import { validEmail, validName, validPassword, validUsername } from '../normalise.ts';
import type { Mailer } from '../mail/mailer.ts';
import { invitationMail } from '../mail/templates.ts';
import type { AccountLinks } from './links.ts';
import { SingleUseTokens } from './tokens.ts';

const INVITATIONS = 'directory.invitations';

export interface Invitation {
  id: string;
  collectiveId: string;
  email: string;
  invitedBy: string;
  createdAt: number;
  expiresAt: number;
}

interface InvitationRecord extends Invitation {
  tokenHash: string;
}

interface InvitationToken {
  invitationId: string;
  collectiveId: string;
  email: string;
}

export type Acceptor = { accountId: string } | { username: string; name: string; password: string };

export const invitationInvalid = () =>
  new AppError(410, 'invitation_invalid', 'This invitation link does not work any more: it was used, withdrawn or has expired. Ask for a new one.');

export interface InvitationsOptions {
  directory: Directory;
  documents: DocumentStore;
  tokens: SingleUseTokens;
  mailer: Mailer;
  audit: AuditLog;
  links: AccountLinks;
  ttlSeconds: number;
  /** With counters, a collective may send at most `maxPerDay` invitations a day (no mail spam). */
  counters?: CounterStore;
  maxPerDay?: number;
  clock?: Clock;
}

export const DEFAULT_INVITATIONS_PER_DAY = 200;

function publicInvitation(record: InvitationRecord): Invitation {
  const { tokenHash: _hash, ...invitation } = record;
  return invitation;
}

export class Invitations {
  private readonly o: InvitationsOptions;
  private readonly clock: Clock;

  constructor(options: InvitationsOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
  }

  async invite(collectiveId: string, rawEmail: string, invitedBy: string): Promise<Invitation> {
    const email = validEmail(rawEmail);
    const collective = await this.o.directory.getCollective(collectiveId);
    if (!collective) throw collectiveNotFound();
    if (this.o.counters) {
      const sent = await this.o.counters.increment(`invitations-per-day:${collectiveId}`, 1, 86_400);
      if (sent > (this.o.maxPerDay ?? DEFAULT_INVITATIONS_PER_DAY)) {
        throw new AppError(429, 'too_many_invitations', 'This collective has sent as many invitations as it may today; try again tomorrow.');
      }
    }
    const id = newId();
    const issued = await this.o.tokens.issue<InvitationToken>('invitation', { invitationId: id, collectiveId, email }, this.o.ttlSeconds);
    const record: InvitationRecord = { id, collectiveId, email, invitedBy, createdAt: this.clock.now(), expiresAt: issued.expiresAt, tokenHash: issued.hash };
    await this.o.documents.write([{ collection: INVITATIONS, id: `${collectiveId}/${id}`, doc: record }]);
    try {
      await this.o.mailer.send(invitationMail(email, collective.name, this.o.links.acceptInvitation(issued.token)));
    } catch (error) {
      // An invitation nobody received must not stay usable or listed.
      await this.o.tokens.revoke('invitation', issued.hash);
      await this.o.documents.write([{ collection: INVITATIONS, id: `${collectiveId}/${id}`, doc: undefined }]);
      throw error;
    }
    await this.o.audit.record({ actor: invitedBy, action: 'invitation.create', target: { type: 'invitation', id }, collectiveId, after: { email } });
    return publicInvitation(record);
  }

  /** Pending (not used, not withdrawn, not expired) invitations of a collective. */
  async list(collectiveId: string): Promise<Invitation[]> {
    const now = this.clock.now();
    const rows = await this.o.documents.list<InvitationRecord>(INVITATIONS, { prefix: `${collectiveId}/` });
    return rows.map((r) => r.doc).filter((r) => r.expiresAt > now).map(publicInvitation).sort((a, b) => a.createdAt - b.createdAt);
  }

  async withdraw(collectiveId: string, invitationId: string, actor: string): Promise<void> {
    const key = `${collectiveId}/${invitationId}`;
    const record = await this.o.documents.get<InvitationRecord>(INVITATIONS, key);
    if (!record) throw new AppError(404, 'invitation_not_found', 'No such invitation.');
    await this.o.tokens.revoke('invitation', record.tokenHash);
    await this.o.documents.write([{ collection: INVITATIONS, id: key, doc: undefined }]);
    await this.o.audit.record({ actor, action: 'invitation.withdraw', target: { type: 'invitation', id: invitationId }, collectiveId, before: { email: record.email } });
  }

  /** What an invitation link is for, without using it up (for the acceptance page). */
  async describe(token: string): Promise<{ collectiveId: string; collectiveName: string; email: string } | undefined> {
    const payload = await this.o.tokens.peek<InvitationToken>('invitation', token);
    if (!payload) return undefined;
    const collective = await this.o.directory.getCollective(payload.collectiveId);
    return collective ? { collectiveId: collective.id, collectiveName: collective.name, email: payload.email } : undefined;
  }

  async accept(token: string, acceptor: Acceptor): Promise<{ account: Account; collectiveId: string }> {
    const payload = await this.o.tokens.peek<InvitationToken>('invitation', token);
    if (!payload) throw invitationInvalid();
    const record = await this.o.documents.get<InvitationRecord>(INVITATIONS, `${payload.collectiveId}/${payload.invitationId}`);
    if (!record) throw invitationInvalid();
    if (!(await this.o.directory.getCollective(payload.collectiveId))) throw invitationInvalid();

    // Check everything that can be checked before the token is used up.
    let existing: Account | undefined;
    let fresh: { username: string; name: string; password: string } | undefined;
    if ('accountId' in acceptor) {
      existing = await this.o.directory.getAccount(acceptor.accountId);
      if (!existing || existing.status !== 'active') throw accountNotFound();
    } else {
      fresh = { username: validUsername(acceptor.username), name: validName(acceptor.name), password: validPassword(acceptor.password) };
      if (await this.o.directory.findAccount(payload.email)) {
        throw new AppError(409, 'account_exists', 'An account with this email address already exists: sign in first, then open the invitation link again.', { fields: { email: 'already has an account' } });
      }
      if (await this.o.directory.findAccount(fresh.username)) throw usernameTaken();
    }

    const redeemed = await this.o.tokens.redeem<InvitationToken>('invitation', token);
    if (!redeemed) throw invitationInvalid();
    try {
      const account = existing ?? (await this.o.directory.createAccount({ ...fresh!, email: payload.email, emailVerified: true }));
      if (fresh) await this.o.audit.record({ actor: account.id, action: 'account.register', target: { type: 'account', id: account.id }, after: accountSnapshot(account) });
      await this.o.directory.addMember(payload.collectiveId, account.id);
      await this.o.documents.write([{ collection: INVITATIONS, id: `${payload.collectiveId}/${payload.invitationId}`, doc: undefined }]);
      await this.o.audit.record({
        actor: account.id,
        action: 'invitation.accept',
        target: { type: 'membership', id: `${payload.collectiveId}/${account.id}` },
        collectiveId: payload.collectiveId,
        after: { accountId: account.id, invitationId: payload.invitationId },
      });
      return { account, collectiveId: payload.collectiveId };
    } catch (error) {
      if (error instanceof AppError && (error.code === 'username_taken' || error.code === 'email_taken' || error.status === 400)) {
        await this.o.tokens.restore('invitation', token, redeemed, record.expiresAt);
      }
      throw error;
    }
  }
}
