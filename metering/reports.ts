/**
 * Reports over the ledger, shared by the admin API and the CLI: the billing report of a period, usage
 * totals for a range, and one account's own records.
 */
import type { DocumentStore, Ledger } from '../store/types.ts';
import { aggregateMonth, RowAccumulator, type AggregateRow } from './aggregate.ts';
import { createSubjectMap, type SubjectMap } from './anonymise.ts';
import { buildBillingReport, type BillingReport } from './billing-report.ts';
import type { FeeSchedule } from './fees.ts';
import { fromLedgerEntry } from './ledger-entry.ts';
import { USAGE_STREAM, type UsageRecord } from './types.ts';
import { DEFAULT_WEIGHTS, type UsageWeights } from './weights.ts';

const SETTINGS = 'usage-meta';
const WEIGHTS_ID = 'weights';

export interface ReportingDeps {
  ledger: Ledger;
  documents: DocumentStore;
  /** Plans, extra block price and subscriptions as they are now (policies). */
  schedule(): Promise<FeeSchedule>;
  /** Weights from the configuration; an admin's edit (stored as a document) takes precedence. */
  weights?: UsageWeights;
  stream?: string;
}

export interface UsageQuery {
  from: number;
  /** Exclusive. */
  to: number;
  service?: string;
  collective?: string;
  subject?: string;
}

export interface Reporting {
  billingReport(period: string): Promise<BillingReport>;
  usage(query: UsageQuery): Promise<{ rows: AggregateRow[]; records: number }>;
  /** The records of one subject (its own export), with anonymised subjects mapped. */
  recordsOf(subject: string, from: number, to: number): Promise<UsageRecord[]>;
  weights(): Promise<UsageWeights>;
  setWeights(weights: UsageWeights): Promise<void>;
  readonly subjects: SubjectMap;
}

export function createReporting(deps: ReportingDeps): Reporting {
  const stream = deps.stream ?? USAGE_STREAM;
  const subjects = createSubjectMap(deps.documents);
  const aggregateDeps = { ledger: deps.ledger, documents: deps.documents, subjects, stream };

  async function weights(): Promise<UsageWeights> {
    return (await deps.documents.get<UsageWeights>(SETTINGS, WEIGHTS_ID)) ?? deps.weights ?? DEFAULT_WEIGHTS;
  }

  return {
    subjects,
    weights,
    async setWeights(w) {
      await deps.documents.write([{ collection: SETTINGS, id: WEIGHTS_ID, doc: w }]);
    },
    async billingReport(period) {
      const [usage, schedule, w, subjectOf] = [await aggregateMonth(aggregateDeps, period), await deps.schedule(), await weights(), await subjects.resolver()];
      // A deleted account's subscriptions are billed under its anonymous id, like its usage.
      const subscriptions = schedule.subscriptions.map((s) => ('account' in s.holder ? { ...s, holder: { account: subjectOf(s.holder.account) } } : s));
      return buildBillingReport({ period, usage, schedule: { ...schedule, subscriptions }, weights: w });
    },
    async usage(query) {
      const subjectOf = await subjects.resolver();
      const acc = new RowAccumulator();
      for await (const entry of deps.ledger.range(stream, query.from, query.to)) {
        const record = fromLedgerEntry(entry);
        if (record === undefined) continue;
        if (query.service !== undefined && record.service !== query.service) continue;
        if (query.collective !== undefined && record.collective !== query.collective) continue;
        const subject = subjectOf(record.subject);
        if (query.subject !== undefined && subject !== query.subject) continue;
        acc.add(subject, record.collective, record.service, 1, record.units);
      }
      return { rows: acc.sorted(), records: acc.records };
    },
    async recordsOf(subject, from, to) {
      const subjectOf = await subjects.resolver();
      const out: UsageRecord[] = [];
      for await (const entry of deps.ledger.range(stream, from, to)) {
        const record = fromLedgerEntry(entry);
        if (record !== undefined && subjectOf(record.subject) === subject) out.push({ ...record, subject });
      }
      return out;
    },
  };
}
