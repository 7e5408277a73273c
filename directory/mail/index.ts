/** Picks the mailer: SMTP when `mail.smtpUrl` is set, otherwise the outbox in the store. */
import type { PortaConfig } from '../../config/schema/index.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Stores } from '../../store/types.ts';
import type { Mailer } from './mailer.ts';
import { OutboxMailer } from './outbox.ts';
import { SmtpMailer } from './smtp.ts';

export type { Mailer, MailMessage } from './mailer.ts';
export { OutboxMailer, type OutboxMail } from './outbox.ts';
export { SmtpMailer } from './smtp.ts';

export function createMailer(config: PortaConfig['mail'], stores: Pick<Stores, 'documents'>, options: { clock?: Clock } = {}): Mailer {
  if (config.smtpUrl) return new SmtpMailer({ url: config.smtpUrl, from: config.from });
  return new OutboxMailer({ documents: stores.documents, from: config.from, clock: options.clock });
}
