import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/load.ts';
import { createStores } from '../../store/index.ts';
import { PolicyStore } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';
import { runReportCommand } from '../../metering/cli.ts';
import { journalPath } from '../../metering/index.ts';
import type { BillingReport } from '../../metering/billing-report.ts';
import { loadFixture, loadLedger } from './fixture.ts';

describe('porta report --period YYYY-MM', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porta-report-cli-'));
  const config = parseConfig({ store: { kind: 'embedded', path: join(dir, 'porta.db') }, dataDir: dir, metering: { journalPath: join(dir, 'journal') } });

  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await runReportCommand(args, config, { stdout: { write: (t: string) => (out += t) }, stderr: { write: (t: string) => (err += t) } });
    return { code, out, err };
  };

  beforeAll(async () => {
    // The store a running Porta would hold: usage, the default policy of the seeds, two subscriptions.
    const stores = await createStores({ ...config.store, dataDir: dir });
    await loadLedger(stores.ledger, loadFixture().records);
    const policies = await PolicyStore.open({ stores, initialFile: config.policiesFile, pollMs: 0 });
    const subscriptions = new SubscriptionStore({ stores, policy: () => policies.current().compiled.document });
    await subscriptions.create({ holder: { account: 'anna' }, plan: 'oficina-medium', extraBlocks: 1, from: Date.UTC(2026, 0, 1) }, 'root');
    await subscriptions.create({ holder: { collective: 'coop-a' }, plan: 'meetings-collective', from: Date.UTC(2025, 5, 1) }, 'root');
    await policies.close();
    await stores.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the JSON report from the store, plans and subscriptions', async () => {
    const { code, out } = await run('--period', '2026-03');
    expect(code).toBe(0);
    const report = JSON.parse(out) as BillingReport;
    // The same fees and splits as in the hand-computed fixture (test/fixtures/metering/README.md).
    expect(report.subscribers.map((s) => [s.holder.id, s.feeCents, s.split.map((p) => `${p.service}:${p.cents}`).join(' ')])).toEqual([
      ['anna', 1500, 'agora:123 meet:918 oficina:459'],
      ['coop-a', 4247, 'coop-a-agora:1019 coop-a-oficina:3228'],
    ]);
  });

  it('writes CSV to a file', async () => {
    const out = join(dir, 'march.csv');
    const { code, err } = await run('--period', '2026-03', '--format', 'csv', '--out', out);
    expect(code).toBe(0);
    expect(err).toContain('written to');
    expect(readFileSync(out, 'utf8')).toContain('2026-03,split,collective,coop-a,coop-a-oficina,2,7,1048576,0,3221225472,0,0,38,4247,3228');
  });

  it('says what is wrong with the arguments', async () => {
    expect(await run('--period', '2026-3')).toMatchObject({ code: 2, err: expect.stringContaining('--period must be a month written YYYY-MM') });
    expect(await run('--period', '2026-03', '--format', 'xml')).toMatchObject({ code: 2, err: expect.stringContaining('--format must be json or csv') });
    expect(await run('--bogus')).toMatchObject({ code: 2, err: expect.stringContaining('Usage: porta report') });
  });
});

describe('journalPath', () => {
  it('follows dataDir when left at its default, and is taken as written otherwise', () => {
    expect(journalPath({ dataDir: '/srv/porta', metering: parseConfig({}).metering })).toBe('/srv/porta/usage-journal');
    expect(journalPath({ dataDir: '/srv/porta', metering: { ...parseConfig({}).metering, journalPath: '/var/spool/porta' } })).toBe('/var/spool/porta');
  });
});
