/**
 * Aggregates of usage per day and per billing period (month), per account, collective and service,
 * stored as documents. Aggregating is idempotent: a day is recomputed from the raw records as long as
 * the ledger still holds them, and the result replaces the stored one. Once retention has deleted a
 * day's raw records, its stored aggregate is final and is never overwritten. A month is the sum of its
 * days, so it stays right after retention.
 */
import type { DocumentStore, Ledger } from '../store/types.ts';
import { fromLedgerEntry } from './ledger-entry.ts';
import { DAY_MS, daysBetween, parseDay, parsePeriod } from './period.ts';
import type { SubjectMap } from './anonymise.ts';
import { addUnits, emptyTotals, UNIT_KINDS, USAGE_STREAM, type UnitTotals, type UsageUnits } from './types.ts';

export const DAILY = 'usage-daily';
export const MONTHLY = 'usage-monthly';
export const META = 'usage-meta';
const RETENTION_META = 'retention';
const DAYS_AT_ONCE = 4;

export interface AggregateRow {
  subject: string;
  collective?: string;
  service: string;
  records: number;
  /** Units that are not zero (kept small: a day of 10 000 accounts is one document). */
  units: UsageUnits;
}

export interface DailyAggregate {
  day: string;
  rows: AggregateRow[];
  records: number;
}

export interface MonthlyAggregate {
  period: string;
  rows: AggregateRow[];
  records: number;
}

export interface RetentionMeta {
  /** Raw records before this instant (a day start) are gone from the ledger. */
  deletedBefore: number;
}

export interface AggregateDeps {
  ledger: Ledger;
  documents: DocumentStore;
  /** Maps subjects of deleted accounts to their anonymous ids. */
  subjects: SubjectMap;
  stream?: string;
}

function compareRows(a: AggregateRow, b: AggregateRow): number {
  return a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : (a.collective ?? '') < (b.collective ?? '') ? -1 : (a.collective ?? '') > (b.collective ?? '') ? 1 : a.service < b.service ? -1 : a.service > b.service ? 1 : 0;
}

/** Merges rows (mapping subjects through `subjects`) into a sorted list: the same input always gives the same output. */
export class RowAccumulator {
  /** subject → (service, or collective + service) → row; nested so no key string is built per record. */
  private readonly rows = new Map<string, Map<string, AggregateRow & { units: UnitTotals }>>();
  records = 0;

  add(subject: string, collective: string | undefined, service: string, records: number, units: UsageUnits): void {
    let bySubject = this.rows.get(subject);
    if (bySubject === undefined) this.rows.set(subject, (bySubject = new Map()));
    const key = collective === undefined ? service : `${collective}\u0000${service}`;
    let row = bySubject.get(key);
    if (row === undefined) {
      row = { subject, service, records: 0, units: emptyTotals() };
      if (collective !== undefined) row.collective = collective;
      bySubject.set(key, row);
    }
    row.records += records;
    this.records += records;
    addUnits(row.units, units);
  }

  sorted(): AggregateRow[] {
    const all: AggregateRow[] = [];
    for (const bySubject of this.rows.values()) {
      for (const row of bySubject.values()) {
        const units: UsageUnits = {};
        for (const kind of UNIT_KINDS) if (row.units[kind] !== 0) units[kind] = row.units[kind];
        all.push({ ...row, units });
      }
    }
    return all.sort(compareRows);
  }
}

export async function retentionMeta(documents: DocumentStore): Promise<RetentionMeta> {
  return (await documents.get<RetentionMeta>(META, RETENTION_META)) ?? { deletedBefore: 0 };
}

export async function setRetentionMeta(documents: DocumentStore, meta: RetentionMeta): Promise<void> {
  await documents.write([{ collection: META, id: RETENTION_META, doc: meta }]);
}

/** Aggregates one UTC day `YYYY-MM-DD` from the raw records and stores it (unless retention made it final). */
export async function aggregateDay(deps: AggregateDeps, day: string): Promise<DailyAggregate> {
  const from = parseDay(day);
  const { deletedBefore } = await retentionMeta(deps.documents);
  if (from < deletedBefore) {
    return (await deps.documents.get<DailyAggregate>(DAILY, day)) ?? { day, rows: [], records: 0 };
  }
  const acc = new RowAccumulator();
  const subjectOf = await deps.subjects.resolver();
  for await (const entry of deps.ledger.range(deps.stream ?? USAGE_STREAM, from, from + DAY_MS)) {
    const record = fromLedgerEntry(entry);
    if (record === undefined) continue;
    acc.add(subjectOf(record.subject), record.collective, record.service, 1, record.units);
  }
  // Retention may have made the day final while we read (and deleted records under us): keep its aggregate.
  if (from < (await retentionMeta(deps.documents)).deletedBefore) {
    return (await deps.documents.get<DailyAggregate>(DAILY, day)) ?? { day, rows: [], records: 0 };
  }
  const aggregate: DailyAggregate = { day, rows: acc.sorted(), records: acc.records };
  await deps.documents.write([{ collection: DAILY, id: day, doc: aggregate }]);
  return aggregate;
}

/** Aggregates a month `YYYY-MM`: each of its days (recomputed where raw records remain), summed and stored. */
export async function aggregateMonth(deps: AggregateDeps, period: string): Promise<MonthlyAggregate> {
  const { from, to } = parsePeriod(period);
  const days = daysBetween(from, to);
  // A few days at once so store round trips overlap; merged in day order, so sums are always the same.
  const dailies: DailyAggregate[] = new Array(days.length);
  let next = 0;
  const worker = async () => {
    while (next < days.length) {
      const i = next++;
      dailies[i] = await aggregateDay(deps, days[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DAYS_AT_ONCE, days.length) }, worker));
  const acc = new RowAccumulator();
  for (const daily of dailies) for (const row of daily.rows) acc.add(row.subject, row.collective, row.service, row.records, row.units);
  const aggregate: MonthlyAggregate = { period, rows: acc.sorted(), records: acc.records };
  await deps.documents.write([{ collection: MONTHLY, id: period, doc: aggregate }]);
  return aggregate;
}

/** Sums stored monthly aggregates without touching the ledger (reports of past, final periods). */
export async function storedMonth(documents: DocumentStore, period: string): Promise<MonthlyAggregate | undefined> {
  return documents.get<MonthlyAggregate>(MONTHLY, period);
}
