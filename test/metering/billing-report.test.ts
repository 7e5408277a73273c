import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createEmbeddedStores, createStores, type Stores } from '../../store/index.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { createReporting, type Reporting } from '../../metering/reports.ts';
import { reportToCsv, formatReport } from '../../metering/report-format.ts';
import { splitByLargestRemainder } from '../../metering/split.ts';
import { prorate, subscriptionFee } from '../../metering/fees.ts';
import { parsePeriod } from '../../metering/period.ts';
import { expectedReport, loadFixture, loadLedger } from './fixture.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
});

describe.each(['embedded', 'redis'] as const)('billing report of the hand-computed March 2026 fixture (%s store)', (kind) => {
  let stores: Stores;
  let reporting: Reporting;
  const fixture = loadFixture();

  beforeAll(async () => {
    stores = kind === 'embedded' ? await createEmbeddedStores({ path: ':memory:' }) : await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'report:', path: 'unused' });
    // 18 lines, one a repeated id: the ledger keeps 17.
    expect(await loadLedger(stores.ledger, fixture.records)).toBe(17);
    reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: async () => fixture.schedule, weights: fixture.weights });
  });
  afterAll(async () => {
    await stores.close();
  });

  it('equals the report computed by hand', async () => {
    expect(await reporting.billingReport('2026-03')).toEqual(expectedReport());
  });

  it('splits every subscriber fee exactly, to the cent', async () => {
    const report = await reporting.billingReport('2026-03');
    for (const s of report.subscribers) expect(s.split.reduce((sum, p) => sum + p.cents, 0)).toBe(s.feeCents);
    const toServices = report.services.reduce((sum, t) => sum + t.cents, 0);
    expect(toServices + report.unallocatedCents).toBe(report.totalFeeCents);
  });

  it('is deterministic: the same ledger gives the same bytes, also re-aggregated', async () => {
    const first = formatReport(await reporting.billingReport('2026-03'), 'json');
    const second = formatReport(await reporting.billingReport('2026-03'), 'json');
    expect(second).toBe(first);
    expect(formatReport(await reporting.billingReport('2026-03'), 'csv')).toBe(reportToCsv(expectedReport()));
  });

  it('writes CSV with one row per subscriber and service, and service totals', async () => {
    const csv = reportToCsv(await reporting.billingReport('2026-03'));
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('period,row,holder_kind,holder_id,service,records,requests,bytesIn,bytesOut,storageByteDays,hostMinutes,participantMinutes,weighted_use,fee_cents,share_cents');
    expect(lines).toContain('2026-03,split,account,anna,agora,1,4,0,0,0,0,0,4,1500,123');
    expect(lines).toContain('2026-03,split,account,bernat,(unallocated),0,,,,,,,0,339,339');
    expect(lines).toContain('2026-03,service-total,,,coop-a-oficina,2,7,1048576,0,3221225472,0,0,,,3228');
    expect(lines.filter((l) => l.includes(',split,'))).toHaveLength(3 + 1 + 3 + 1 + 2);
  });

  it('usage totals filter by service and collective', async () => {
    const { from, to } = parsePeriod('2026-03');
    const coop = await reporting.usage({ from, to, collective: 'coop-a' });
    expect(coop.records).toBe(3);
    expect(coop.rows.map((r) => `${r.subject}/${r.service}`)).toEqual(['anna/coop-a-oficina', 'erik/coop-a-agora', 'erik/coop-a-oficina']);
    const agora = await reporting.usage({ from, to, service: 'agora' });
    expect(agora.rows.reduce((n, r) => n + (r.units.requests ?? 0), 0)).toBe(22);
  });
});

describe('largest remainder split', () => {
  it('sums to the amount for awkward weights and breaks ties by key', () => {
    expect(splitByLargestRemainder(100, [{ key: 'b', weight: 1n }, { key: 'a', weight: 1n }, { key: 'c', weight: 1n }])).toEqual([
      { key: 'a', cents: 34 },
      { key: 'b', cents: 33 },
      { key: 'c', cents: 33 },
    ]);
    for (const cents of [0, 1, 7, 999, 123457]) {
      const parts = splitByLargestRemainder(cents, [{ key: 'x', weight: 3n }, { key: 'y', weight: 7n }, { key: 'z', weight: 1_000_003n }]);
      expect(parts.reduce((s, p) => s + p.cents, 0)).toBe(cents);
    }
  });

  it('refuses to split by nothing', () => {
    expect(() => splitByLargestRemainder(10, [{ key: 'a', weight: 0n }])).toThrow('every weight is zero');
  });
});

describe('fees', () => {
  const march = parsePeriod('2026-03');
  it('rounds half up in exact arithmetic', () => {
    expect(prorate(1, 1, 2)).toBe(1);
    expect(prorate(3, 1, 2)).toBe(2);
    expect(prorate(500, 21, 31)).toBe(339);
  });

  it('prorates a yearly price by the days of a leap year', () => {
    const feb2028 = parsePeriod('2028-02');
    const fee = subscriptionFee(
      { id: 's', holder: { account: 'a' }, plan: 'y', extraBlocks: 0, from: Date.UTC(2027, 0, 1), coversMembers: false },
      { plans: { y: { price: { cents: 36600, period: 'year' } } }, extraStorageBlock: null, subscriptions: [] },
      feb2028,
    );
    expect(fee?.days).toBe(29);
    expect(fee?.feeCents).toBe(2900); // 36600 × 29 / 366
  });

  it('names a subscription whose plan does not exist', () => {
    expect(() =>
      subscriptionFee({ id: 's-x', holder: { account: 'a' }, plan: 'gone', extraBlocks: 0, from: 0, coversMembers: false }, { plans: {}, extraStorageBlock: null, subscriptions: [] }, march),
    ).toThrow('Subscription s-x names plan "gone"');
  });
});
