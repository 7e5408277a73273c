/**
 * The outbox: on the embedded default (no SMTP configured) mail is kept in the store, where platform
 * admins read it (admin API `GET /outbox`), so that nothing needs setting up to try Porta.
 * Mails carry live single-use links: only platform admins may read the outbox.
 */
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import { randomToken } from '../../kernel/ids.ts';
import type { DocumentStore } from '../../store/types.ts';
import type { Page } from '../types.ts';
import { byKey, pageOf } from '../paging.ts';
import type { Mailer, MailMessage } from './mailer.ts';

export interface OutboxMail extends MailMessage {
  id: string;
  from: string;
  time: number;
}

const OUTBOX = 'mail.outbox';

export class OutboxMailer implements Mailer {
  readonly kind = 'outbox' as const;
  private readonly documents: DocumentStore;
  private readonly clock: Clock;
  private readonly from: string;

  constructor(options: { documents: DocumentStore; from: string; clock?: Clock }) {
    this.documents = options.documents;
    this.from = options.from;
    this.clock = options.clock ?? systemClock;
  }

  async send(message: MailMessage): Promise<void> {
    const time = this.clock.now();
    // Time first, so ids sort in sending order.
    const id = `${String(time).padStart(15, '0')}-${randomToken(6)}`;
    const mail: OutboxMail = { id, from: this.from, time, to: message.to, subject: message.subject, text: message.text };
    await this.documents.write([{ collection: OUTBOX, id, doc: mail }]);
  }

  /** Newest first. */
  async list(options: { to?: string; limit?: number; cursor?: string } = {}): Promise<Page<OutboxMail>> {
    const rows = await this.documents.list<OutboxMail>(OUTBOX);
    const to = options.to?.trim().toLowerCase();
    const mails = rows
      .map((r) => r.doc)
      .filter((m) => !to || m.to.toLowerCase() === to)
      .map((m) => ({ ...m, key: String(1e15 - m.time).padStart(16, '0') + m.id }))
      .sort(byKey((m) => m.key));
    const page = pageOf(mails, (m) => m.key, options);
    return { ...page, items: page.items.map(({ key: _key, ...m }) => m) };
  }

  async close(): Promise<void> {}
}
