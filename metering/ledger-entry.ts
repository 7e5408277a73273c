import type { LedgerEntry } from '../store/types.ts';
import type { UsageKind, UsageRecord, UsageUnits } from './types.ts';

/** A usage record as the ledger holds it: id and time are the entry's own, the rest is `data`. */
export function toLedgerEntry(record: UsageRecord): LedgerEntry {
  const { id, time, ...data } = record;
  return { id, time, data: data as Record<string, unknown> };
}

const KINDS: ReadonlySet<string> = new Set<UsageKind>(['request', 'storage', 'meeting']);

/** Reads a ledger entry back; undefined for an entry that is not a usage record (never thrown: one bad entry must not stop a report). */
export function fromLedgerEntry(entry: LedgerEntry): UsageRecord | undefined {
  const d = entry.data;
  if (typeof d.subject !== 'string' || typeof d.service !== 'string' || typeof d.kind !== 'string' || !KINDS.has(d.kind)) return undefined;
  const record: UsageRecord = {
    id: entry.id,
    time: entry.time,
    subject: d.subject,
    service: d.service,
    kind: d.kind as UsageKind,
    units: typeof d.units === 'object' && d.units !== null ? (d.units as UsageUnits) : {},
  };
  if (typeof d.collective === 'string') record.collective = d.collective;
  if (typeof d.routeClass === 'string') record.routeClass = d.routeClass;
  if (typeof d.method === 'string') record.method = d.method;
  if (typeof d.status === 'number') record.status = d.status;
  if (typeof d.durationMs === 'number') record.durationMs = d.durationMs;
  return record;
}
