import { describe, it, expect, beforeAll, afterAll, beforeEach, afterEach } from '@jest/globals';
import { ManualClock } from '../../kernel/clock.ts';
import { createEmbeddedStores, createStores, type Stores } from '../../store/index.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { aggregateDay, aggregateMonth, DAILY, MONTHLY, type AggregateDeps, type DailyAggregate, type MonthlyAggregate } from '../../metering/aggregate.ts';
import { anonymiseSubject, createSubjectMap } from '../../metering/anonymise.ts';
import { applyRetention } from '../../metering/retention.ts';
import { createReporting } from '../../metering/reports.ts';
import { toLedgerEntry } from '../../metering/ledger-entry.ts';
import { USAGE_STREAM, type UsageRecord } from '../../metering/types.ts';
import { expectedReport, loadFixture, loadLedger } from './fixture.ts';

const at = (iso: string) => Date.parse(iso);
const rec = (id: string, iso: string, subject: string, service: string, requests: number): UsageRecord => ({ id, time: at(iso), subject, service, kind: 'request', units: { requests } });

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe.each(['embedded', 'redis'] as const)('aggregation and retention on the %s store', (kind) => {
  let stores: Stores;
  let deps: AggregateDeps;
  let run = 0;

  beforeEach(async () => {
    run += 1;
    stores = kind === 'embedded' ? await createEmbeddedStores({ path: ':memory:' }) : await createStores({ kind: 'redis', url: redis.url, keyPrefix: `retention-${run}:`, path: 'unused' });
    deps = { ledger: stores.ledger, documents: stores.documents, subjects: createSubjectMap(stores.documents) };
  });
  afterEach(async () => {
    await stores.close();
  });

  it('aggregates a day per account, collective and service, idempotently', async () => {
    await loadLedger(stores.ledger, [
      rec('1', '2026-03-02T01:00:00Z', 'anna', 'agora', 2),
      rec('2', '2026-03-02T23:00:00Z', 'anna', 'agora', 3),
      { ...rec('3', '2026-03-02T12:00:00Z', 'anna', 'oficina', 1), collective: 'coop-a' },
      rec('4', '2026-03-03T00:00:00Z', 'anna', 'agora', 100),
    ]);
    const first = await aggregateDay(deps, '2026-03-02');
    expect(first.rows).toEqual([
      { subject: 'anna', service: 'agora', records: 2, units: { requests: 5 } }, // units that are zero are left out
      { subject: 'anna', collective: 'coop-a', service: 'oficina', records: 1, units: { requests: 1 } },
    ]);
    expect(await aggregateDay(deps, '2026-03-02')).toEqual(first);
    expect(await stores.documents.get(DAILY, '2026-03-02')).toEqual(first);
    // A late record (a journal replayed after an outage) is included when the day is aggregated again.
    await loadLedger(stores.ledger, [rec('5', '2026-03-02T05:00:00Z', 'anna', 'agora', 1)]);
    expect((await aggregateDay(deps, '2026-03-02')).rows[0].units.requests).toBe(6);
  });

  it('names a day that is not a date', async () => {
    await expect(aggregateDay(deps, '2026-02-30')).rejects.toMatchObject({ status: 400, fields: { day: 'expected YYYY-MM-DD' } });
  });

  it('deletes raw records past their age and leaves the aggregates intact', async () => {
    const fixture = loadFixture();
    await loadLedger(stores.ledger, fixture.records);
    const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: async () => fixture.schedule, weights: fixture.weights });
    const before = await aggregateMonth(deps, '2026-03');

    // 2026-05-20 with 60 days of retention: the cutoff is 2026-03-21T00:00Z.
    const clock = new ManualClock(at('2026-05-20T15:00:00Z'));
    const result = await applyRetention({ ...deps, clock, retentionDays: 60 });
    expect(result.cutoff).toBe(at('2026-03-21T00:00:00Z'));
    // 17 records in the ledger; r-a3 (03-31) and r-a-apr (04-01) are younger than the cutoff.
    expect(result.deleted).toBe(15);
    expect(await stores.ledger.count(USAGE_STREAM)).toBe(2);
    let oldest = Infinity;
    for await (const e of stores.ledger.range(USAGE_STREAM, 0, Number.MAX_SAFE_INTEGER)) oldest = Math.min(oldest, e.time);
    expect(oldest).toBe(at('2026-03-31T23:59:59.999Z'));

    // Daily aggregates of deleted days stay as they were, and are final: aggregating again keeps them.
    const day = await stores.documents.get<DailyAggregate>(DAILY, '2026-03-15');
    expect(day?.rows.map((r) => `${r.subject}/${r.service}/${r.units.storageByteDays}`)).toEqual(['anna/oficina/1073741824']);
    expect(await aggregateDay(deps, '2026-03-15')).toEqual(day);
    // The month re-aggregated after retention is the month before it, and so is the report.
    expect(await aggregateMonth(deps, '2026-03')).toEqual(before);
    expect(await stores.documents.get<MonthlyAggregate>(MONTHLY, '2026-03')).toEqual(before);
    expect(await reporting.billingReport('2026-03')).toEqual(expectedReport());

    // Running retention again deletes nothing more.
    expect((await applyRetention({ ...deps, clock, retentionDays: 60 })).deleted).toBe(0);
  });

  it('keeps a deleted account\'s usage only under its anonymous id', async () => {
    await loadLedger(stores.ledger, [rec('1', '2026-03-02T01:00:00Z', 'anna', 'agora', 2), rec('2', '2026-03-03T01:00:00Z', 'bernat', 'agora', 1)]);
    await aggregateMonth(deps, '2026-03');
    const { aggregatesRewritten } = await anonymiseSubject(stores.documents, 'anna', 'anon-7f3a');
    expect(aggregatesRewritten).toBe(2); // the day 2026-03-02 and the month
    const month = await stores.documents.get<MonthlyAggregate>(MONTHLY, '2026-03');
    expect(month?.rows.map((r) => r.subject)).toEqual(['anon-7f3a', 'bernat']);
    expect(JSON.stringify(await stores.documents.list(DAILY))).not.toContain('"anna"');
    // Re-aggregating from the raw records maps the old id too.
    expect((await aggregateMonth(deps, '2026-03')).rows.map((r) => r.subject)).toEqual(['anon-7f3a', 'bernat']);
    const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: async () => ({ plans: {}, extraStorageBlock: null, subscriptions: [] }) });
    expect((await reporting.recordsOf('anon-7f3a', 0, at('2027-01-01T00:00:00Z'))).map((r) => [r.id, r.subject])).toEqual([['1', 'anon-7f3a']]);
    expect(await reporting.recordsOf('anna', 0, at('2027-01-01T00:00:00Z'))).toEqual([]);
    // The mapping table does not hold the old id in clear.
    expect(JSON.stringify(await stores.documents.list('usage-anonymised'))).not.toContain('anna');
  });

  it('ignores ledger entries that are not usage records', async () => {
    await stores.ledger.append(USAGE_STREAM, [{ id: 'junk', time: at('2026-03-02T01:00:00Z'), data: { hello: 'world' } }, toLedgerEntry(rec('ok', '2026-03-02T02:00:00Z', 'anna', 'agora', 1))]);
    expect((await aggregateDay(deps, '2026-03-02')).records).toBe(1);
  });
});
