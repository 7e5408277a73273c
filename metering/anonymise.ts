/**
 * Deleting an account keeps its usage only under an anonymous id. The ledger is append-only, so raw
 * records are not rewritten; instead:
 *   - a mapping (old id → anonymous id) is stored, keyed by a SHA-256 of the old id so the table does
 *     not list old ids in clear, and applied whenever records leave the ledger (aggregation, exports);
 *   - stored daily and monthly aggregates that name the old id are rewritten at once;
 *   - the raw records themselves disappear with retention (`metering.retentionDays`).
 */
import { sha256Hex } from '../kernel/ids.ts';
import type { DocumentStore } from '../store/types.ts';
import { DAILY, MONTHLY, RowAccumulator, type DailyAggregate, type MonthlyAggregate } from './aggregate.ts';

const MAPPING = 'usage-anonymised';

export interface SubjectMap {
  /** Loads the mapping once and returns a lookup for one run (an aggregation or an export). */
  resolver(): Promise<(subject: string) => string>;
}

export function createSubjectMap(documents: DocumentStore): SubjectMap {
  return {
    async resolver() {
      const mapping = new Map<string, string>();
      for (const { id, doc } of await documents.list<{ anonId: string }>(MAPPING)) mapping.set(id, doc.anonId);
      if (mapping.size === 0) return (subject) => subject;
      const cache = new Map<string, string>();
      return (subject) => {
        let mapped = cache.get(subject);
        if (mapped === undefined) {
          mapped = mapping.get(sha256Hex(subject)) ?? subject;
          cache.set(subject, mapped);
        }
        return mapped;
      };
    },
  };
}

function remap<T extends DailyAggregate | MonthlyAggregate>(aggregate: T, oldId: string, anonId: string): T | undefined {
  if (!aggregate.rows.some((row) => row.subject === oldId)) return undefined;
  const acc = new RowAccumulator();
  for (const row of aggregate.rows) acc.add(row.subject === oldId ? anonId : row.subject, row.collective, row.service, row.records, row.units);
  return { ...aggregate, rows: acc.sorted() };
}

/** Records from now on report `oldId`'s usage under `anonId`, and stored aggregates are rewritten. */
export async function anonymiseSubject(documents: DocumentStore, oldId: string, anonId: string): Promise<{ aggregatesRewritten: number }> {
  if (oldId === '' || anonId === '' || oldId === anonId) throw new TypeError('anonymiseSubject needs two different, non-empty ids.');
  await documents.write([{ collection: MAPPING, id: sha256Hex(oldId), doc: { anonId } }]);
  let aggregatesRewritten = 0;
  for (const collection of [DAILY, MONTHLY]) {
    for (const { id, doc } of await documents.list<DailyAggregate | MonthlyAggregate>(collection)) {
      const rewritten = remap(doc, oldId, anonId);
      if (rewritten === undefined) continue;
      await documents.write([{ collection, id, doc: rewritten }]);
      aggregatesRewritten += 1;
    }
  }
  return { aggregatesRewritten };
}
