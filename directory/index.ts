/**
 * Builds the configured directory. The rest of Porta sees only the `Directory` port (types.ts).
 */
import type { PortaConfig } from '../config/schema/index.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Stores } from '../store/types.ts';
import type { Directory } from './types.ts';
import { EmbeddedDirectory } from './embedded/embedded-directory.ts';
import { LdapDirectory } from './ldap/ldap-directory.ts';
import { AuditLog } from './audit.ts';
import { createMailer } from './mail/index.ts';
import type { Mailer } from './mail/mailer.ts';
import { OutboxMailer } from './mail/outbox.ts';
import { AccountFlows } from './accounts/account-flows.ts';
import { linksFor, type AccountLinks } from './accounts/links.ts';

export type { Directory } from './types.ts';
export { EmbeddedDirectory } from './embedded/embedded-directory.ts';
export { LdapDirectory } from './ldap/ldap-directory.ts';
export { AuditLog } from './audit.ts';
export { AccountFlows } from './accounts/account-flows.ts';
export { OutboxMailer, SmtpMailer, type Mailer } from './mail/index.ts';

export interface CreateDirectoryOptions {
  clock?: Clock;
  logger?: Logger;
}

export function createDirectory(config: Pick<PortaConfig, 'directory' | 'services'>, stores: Pick<Stores, 'documents'>, options: CreateDirectoryOptions = {}): Directory {
  const services = config.services.map((s) => s.id);
  if (config.directory.kind === 'ldap') {
    const ldap = config.directory.ldap;
    if (!ldap) throw new Error('directory.ldap is required when directory.kind is ldap');
    return new LdapDirectory({ ...ldap, attributes: { ...ldap.attributes }, services, logger: options.logger });
  }
  return new EmbeddedDirectory({ documents: stores.documents, clock: options.clock, services });
}

export interface AccountServices {
  audit: AuditLog;
  mailer: Mailer;
  /** Set when mail goes to the outbox (no `mail.smtpUrl`); the admin API serves it to platform admins. */
  outbox?: OutboxMailer;
  flows: AccountFlows;
}

/**
 * Everything around the directory that the IdP (registration, verification, reset, invitation pages)
 * and the admin API need, built from the config. Links in mails point at `idp.issuer` unless `links`
 * says otherwise.
 */
export function createAccountServices(
  config: Pick<PortaConfig, 'directory' | 'mail' | 'idp'>,
  stores: Pick<Stores, 'kv' | 'documents' | 'ledger'> & Partial<Pick<Stores, 'counters'>>,
  directory: Directory,
  options: { clock?: Clock; links?: AccountLinks; mailer?: Mailer } = {},
): AccountServices {
  const audit = new AuditLog(stores.ledger, options.clock);
  const mailer = options.mailer ?? createMailer(config.mail, stores, { clock: options.clock });
  const flows = new AccountFlows({
    directory,
    kv: stores.kv,
    documents: stores.documents,
    counters: stores.counters,
    mailer,
    audit,
    links: options.links ?? linksFor(config.idp.issuer),
    registration: config.directory.registration,
    ttl: config.directory.tokens,
    anonymousIdSecret: config.directory.anonymousIdSecret,
    clock: options.clock,
  });
  return { audit, mailer, outbox: mailer instanceof OutboxMailer ? mailer : undefined, flows };
}
