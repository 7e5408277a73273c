import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { parseConfig } from '../../config/load.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createEmbeddedStores } from '../../store/index.ts';
import { createMetering } from '../../metering/index.ts';
import { USAGE_STREAM } from '../../metering/types.ts';

describe('createMetering (wired from the configuration)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porta-metering-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records, reports under an anonymous id after deletion, applies retention, and flushes on close', async () => {
    const config = parseConfig({ dataDir: dir, metering: { retentionDays: 30 } });
    const stores = await createEmbeddedStores({ path: join(dir, 'porta.db') });
    const clock = new ManualClock(Date.parse('2026-03-05T10:00:00Z'));
    const metrics = new Registry();
    const metering = createMetering({ config, stores, logger: silentLogger, clock, metrics, retentionEveryMs: 0, schedule: async () => ({ plans: { p: { price: { cents: 1000, period: 'month' } } }, extraStorageBlock: null, subscriptions: [{ id: 's', holder: { account: 'anna' }, plan: 'p', extraBlocks: 0, from: 0, coversMembers: false }] }) });
    expect(readdirSync(join(dir, 'usage-journal'))).toHaveLength(1); // its own folder, under dataDir

    expect(metering.recorder.record({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 3 } })).toBe(true);
    expect(metering.recorder.record({ subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1 } })).toBe(true);
    expect(await metering.recorder.flush()).toBe(true);
    expect(await metrics.metrics()).toContain('porta_usage_written_total 2');

    const before = await metering.reporting.billingReport('2026-03');
    expect(before.subscribers[0].split).toEqual([{ service: 'agora', cents: 750 }, { service: 'oficina', cents: 250 }]);

    // anna deletes her account: her usage stays, under the anonymous id only.
    await metering.anonymiseSubject('anna', 'anon-1234');
    const usage = await metering.reporting.usage({ from: Date.parse('2026-03-01'), to: Date.parse('2026-04-01') });
    expect(usage.rows.map((r) => r.subject)).toEqual(['anon-1234', 'anon-1234']);
    const anonymised = await metering.reporting.billingReport('2026-03');
    expect(anonymised.subscribers.map((s) => [s.holder.id, s.split])).toEqual([['anon-1234', before.subscribers[0].split]]);
    expect(JSON.stringify(anonymised)).not.toContain('anna');

    // 30 days of retention, seen from May: March's raw records go, its aggregates stay.
    clock.set(Date.parse('2026-05-10T00:00:00Z'));
    expect((await metering.applyRetention()).deleted).toBe(2);
    expect(await stores.ledger.count(USAGE_STREAM)).toBe(0);
    const after = await metering.reporting.billingReport('2026-03');
    expect(after.services.map((s) => [s.service, s.records])).toEqual([['agora', 1], ['oficina', 1]]);

    metering.recorder.record({ subject: 'bernat', service: 'agora', kind: 'request', units: { requests: 1 } });
    await metering.close();
    expect(await stores.ledger.count(USAGE_STREAM)).toBe(1);
    await stores.close();
  });
});
