/** Loads the hand-computed March 2026 fixture (test/fixtures/metering/) into a real ledger. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ledger } from '../../store/types.ts';
import type { FeeSchedule } from '../../metering/fees.ts';
import { toLedgerEntry } from '../../metering/ledger-entry.ts';
import { USAGE_STREAM, type UsageRecord } from '../../metering/types.ts';
import type { UsageWeights } from '../../metering/weights.ts';
import type { BillingReport } from '../../metering/billing-report.ts';

const dir = fileURLToPath(new URL('../fixtures/metering/', import.meta.url));

type Raw<T> = Omit<T, 'time' | 'from' | 'to'> & { time?: string; from?: string; to?: string };

interface RawFixture {
  records: Array<Raw<UsageRecord>>;
  schedule: Omit<FeeSchedule, 'subscriptions'> & { subscriptions: Array<Raw<FeeSchedule['subscriptions'][number]>> };
  weights: UsageWeights;
}

export interface Fixture {
  records: UsageRecord[];
  schedule: FeeSchedule;
  weights: UsageWeights;
}

export function loadFixture(): Fixture {
  const raw = JSON.parse(readFileSync(`${dir}ledger-2026-03.json`, 'utf8')) as RawFixture;
  return {
    records: raw.records.map((r) => ({ ...r, time: Date.parse(r.time as string) }) as UsageRecord),
    schedule: {
      ...raw.schedule,
      subscriptions: raw.schedule.subscriptions.map(
        (s) => ({ ...s, from: Date.parse(s.from as string), ...(s.to === undefined ? {} : { to: Date.parse(s.to) }) }) as FeeSchedule['subscriptions'][number],
      ),
    },
    weights: raw.weights,
  };
}

export function expectedReport(): BillingReport {
  return JSON.parse(readFileSync(`${dir}expected-report-2026-03.json`, 'utf8')) as BillingReport;
}

/** Appends the fixture's records one at a time (so the duplicate id meets a stored one). Returns how many were new. */
export async function loadLedger(ledger: Ledger, records: UsageRecord[]): Promise<number> {
  let added = 0;
  for (const r of records) added += await ledger.append(USAGE_STREAM, [toLedgerEntry(r)]);
  return added;
}
