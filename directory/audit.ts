/**
 * The audit log of directory changes: who did what, when, with the state before and after. Kept in
 * the store's Ledger (append-only): one stream for everything, read by platform admins, and one per
 * collective, read by that collective's managers.
 *
 * Personal data: snapshots of accounts keep ids, usernames and flags, but not email addresses or
 * names (`accountSnapshot`), so deleting an account does not leave its personal data in the log.
 */
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import { newId } from '../kernel/ids.ts';
import type { Ledger } from '../store/types.ts';
import type { Account } from './types.ts';

export interface AuditEvent {
  /** Account id of who acted, or `system` (CLI, scheduled jobs) or `self` flows before sign-in. */
  actor: string;
  /** Dotted verb, e.g. `member.add`, `grant.set`, `account.delete`. */
  action: string;
  target: { type: 'account' | 'collective' | 'membership' | 'invitation'; id: string };
  collectiveId?: string;
  before?: unknown;
  after?: unknown;
}

export interface AuditRecord extends AuditEvent {
  id: string;
  time: number;
}

export interface AuditPage {
  items: AuditRecord[];
  next?: string;
}

const ALL = 'audit';
const collectiveStream = (id: string) => `audit.collective.${id}`;

/** What the log keeps of an account: no email, no name. */
export function accountSnapshot(account: Account | undefined): Record<string, unknown> | undefined {
  if (!account) return undefined;
  return { id: account.id, username: account.username, status: account.status, platformAdmin: account.platformAdmin, emailVerified: account.emailVerified };
}

export class AuditLog {
  private readonly ledger: Ledger;
  private readonly clock: Clock;

  constructor(ledger: Ledger, clock: Clock = systemClock) {
    this.ledger = ledger;
    this.clock = clock;
  }

  /** Appends the event. A failure propagates: a change that cannot be audited is reported, not hidden. */
  async record(event: AuditEvent): Promise<AuditRecord> {
    const record: AuditRecord = { id: newId(), time: this.clock.now(), ...event };
    const entry = { id: record.id, time: record.time, data: JSON.parse(JSON.stringify(event)) as Record<string, unknown> };
    await this.ledger.append(ALL, [entry]);
    if (event.collectiveId) await this.ledger.append(collectiveStream(event.collectiveId), [entry]);
    return record;
  }

  /** Oldest first; `cursor` is the `next` of the previous page. */
  async list(options: { collectiveId?: string; limit?: number; cursor?: string } = {}): Promise<AuditPage> {
    const page = await this.ledger.read(options.collectiveId ? collectiveStream(options.collectiveId) : ALL, { after: options.cursor, limit: options.limit });
    return {
      items: page.entries.map((e) => ({ id: e.id, time: e.time, ...(e.data as unknown as AuditEvent) })),
      ...(page.next ? { next: page.next } : {}),
    };
  }
}
