/**
 * Self-service account flows over the Directory port: registration (open, invitation-only or closed),
 * email verification, password reset and change, deletion. Mails go through the Mailer (SMTP or the
 * outbox); every change goes to the audit log.
 */
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import { AppError, badRequest } from '../../kernel/errors.ts';
import type { CounterStore, DocumentStore, KeyValueStore } from '../../store/types.ts';
import type { Account, Directory } from '../types.ts';
import type { AuditLog } from '../audit.ts';
import { accountSnapshot } from '../audit.ts';
import { accountNotFound } from '../errors.ts';
import { validPassword } from '../normalise.ts';
import type { Mailer } from '../mail/mailer.ts';
import { passwordResetMail, verificationMail } from '../mail/templates.ts';
import type { AccountLinks } from './links.ts';
import { SingleUseTokens } from './tokens.ts';
import { Invitations } from './invitations.ts';
import { anonymousId, anonymousIdSecret } from './anonymous-id.ts';

export type RegistrationMode = 'open' | 'invitation' | 'closed';

export interface AccountFlowsOptions {
  directory: Directory;
  kv: KeyValueStore;
  documents: DocumentStore;
  /** Enables the daily cap on invitations per collective. */
  counters?: CounterStore;
  invitationsPerDay?: number;
  mailer: Mailer;
  audit: AuditLog;
  links: AccountLinks;
  registration: RegistrationMode;
  ttl: { verificationTtlSeconds: number; resetTtlSeconds: number; invitationTtlSeconds: number };
  anonymousIdSecret?: string;
  clock?: Clock;
}

export interface Registration {
  username: string;
  email: string;
  name: string;
  password: string;
}

export interface DeletedAccount {
  accountId: string;
  /** The id the account's usage records are kept under from now on (see anonymous-id.ts). */
  anonymousId: string;
}

/** At most one verification or reset mail per account per this many seconds (no mail-bombing). */
export const MAIL_COOLDOWN_SECONDS = 60;

const invalidLink = () => new AppError(410, 'link_invalid', 'This link does not work any more: it was used already or has expired. Ask for a new one.');

export class AccountFlows {
  readonly invitations: Invitations;
  private readonly o: AccountFlowsOptions;
  private readonly tokens: SingleUseTokens;

  constructor(options: AccountFlowsOptions) {
    this.o = options;
    const clock = options.clock ?? systemClock;
    this.tokens = new SingleUseTokens(options.kv, clock);
    this.invitations = new Invitations({
      directory: options.directory,
      documents: options.documents,
      tokens: this.tokens,
      mailer: options.mailer,
      audit: options.audit,
      links: options.links,
      ttlSeconds: options.ttl.invitationTtlSeconds,
      counters: options.counters,
      maxPerDay: options.invitationsPerDay,
      clock,
    });
  }

  get registrationMode(): RegistrationMode {
    return this.o.registration;
  }

  /**
   * Creates an account by self-registration. With an invitation token the account joins the
   * collective and its email counts as verified (the invitation reached that mailbox); in `open`
   * mode without one, a verification mail is sent.
   */
  async register(input: Registration, options: { invitationToken?: string } = {}): Promise<Account> {
    if (this.o.directory.readOnly) throw new AppError(403, 'registration_closed', 'Accounts are managed by another system; registration is not possible here.');
    if (this.o.registration === 'closed') throw new AppError(403, 'registration_closed', 'Registration is closed. Ask an administrator for an account.');
    if (options.invitationToken) {
      const { account } = await this.invitations.accept(options.invitationToken, { username: input.username, name: input.name, password: input.password });
      return account;
    }
    if (this.o.registration === 'invitation') throw new AppError(403, 'invitation_required', 'Registration needs an invitation: open the link from your invitation mail.');
    const account = await this.o.directory.createAccount({ username: input.username, email: input.email, name: input.name, password: input.password, emailVerified: false });
    await this.o.audit.record({ actor: account.id, action: 'account.register', target: { type: 'account', id: account.id }, after: accountSnapshot(account) });
    await this.sendVerification(account.id);
    return account;
  }

  /** True the first time in MAIL_COOLDOWN_SECONDS for this account and kind of mail. */
  private async mayMail(kind: string, accountId: string): Promise<boolean> {
    return this.o.kv.setIfAbsent(`account-mail-cooldown:${kind}:${accountId}`, '1', MAIL_COOLDOWN_SECONDS);
  }

  async sendVerification(accountId: string): Promise<void> {
    const account = await this.o.directory.getAccount(accountId);
    if (!account) throw accountNotFound();
    if (account.emailVerified || !(await this.mayMail('verify-email', accountId))) return;
    const { token } = await this.tokens.issue('verify-email', { accountId, email: account.email }, this.o.ttl.verificationTtlSeconds);
    await this.o.mailer.send(verificationMail(account.email, account.name, this.o.links.verifyEmail(token)));
  }

  async verifyEmail(token: string): Promise<Account> {
    const payload = await this.tokens.redeem<{ accountId: string; email: string }>('verify-email', token);
    if (!payload) throw invalidLink();
    const account = await this.o.directory.getAccount(payload.accountId);
    // A link for an address the account no longer has verifies nothing.
    if (!account || account.email !== payload.email) throw invalidLink();
    const updated = await this.o.directory.updateAccount(account.id, { emailVerified: true });
    await this.o.audit.record({ actor: account.id, action: 'account.verify-email', target: { type: 'account', id: account.id }, before: accountSnapshot(account), after: accountSnapshot(updated) });
    return updated;
  }

  /**
   * Mails a reset link if `login` names an active account. Answers the same either way, so the
   * caller cannot learn which logins exist.
   */
  async requestPasswordReset(login: string): Promise<void> {
    const account = typeof login === 'string' && login.trim() ? await this.o.directory.findAccount(login) : undefined;
    if (!account || account.status !== 'active' || this.o.directory.readOnly) return;
    if (!(await this.mayMail('reset-password', account.id))) return;
    const { token } = await this.tokens.issue('reset-password', { accountId: account.id }, this.o.ttl.resetTtlSeconds);
    await this.o.mailer.send(passwordResetMail(account.email, account.name, this.o.links.resetPassword(token)));
  }

  async resetPassword(token: string, password: string): Promise<Account> {
    // Validate first: a too-short password must not use up the link.
    validPassword(password);
    const payload = await this.tokens.redeem<{ accountId: string }>('reset-password', token);
    if (!payload) throw invalidLink();
    const account = await this.o.directory.getAccount(payload.accountId);
    if (!account || account.status !== 'active') throw invalidLink();
    await this.o.directory.setPassword(account.id, password);
    await this.o.audit.record({ actor: account.id, action: 'account.reset-password', target: { type: 'account', id: account.id } });
    return account;
  }

  async changePassword(accountId: string, currentPassword: string, newPassword: string): Promise<void> {
    validPassword(newPassword, 'newPassword');
    const account = await this.o.directory.getAccount(accountId);
    if (!account) throw accountNotFound();
    if (!(await this.o.directory.authenticate(account.username, currentPassword))) {
      throw badRequest('The current password is not right.', { currentPassword: 'does not match' });
    }
    await this.o.directory.setPassword(accountId, newPassword);
    await this.o.audit.record({ actor: accountId, action: 'account.change-password', target: { type: 'account', id: accountId } });
  }

  /** The anonymous id that `accountId`'s usage is (or will be) kept under after deletion. */
  async anonymousIdOf(accountId: string): Promise<string> {
    return anonymousId(await anonymousIdSecret(this.o.documents, this.o.anonymousIdSecret), accountId);
  }

  /**
   * Deletes the account and its personal data (the directory entry, memberships, grants). Returns
   * the anonymous id mapping, which metering uses to keep the account's usage for billing.
   */
  async deleteAccount(accountId: string, actor: string): Promise<DeletedAccount> {
    const account = await this.o.directory.getAccount(accountId);
    if (!account) throw accountNotFound();
    const anonymous = await this.anonymousIdOf(accountId);
    await this.o.directory.deleteAccount(accountId);
    await this.o.audit.record({ actor, action: 'account.delete', target: { type: 'account', id: accountId }, before: accountSnapshot(account), after: { anonymousId: anonymous } });
    return { accountId, anonymousId: anonymous };
  }
}
