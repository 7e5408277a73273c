/**
 * Metering benchmark (`node bench/metering.ts`, or through `npm run bench`), against a real
 * redis-server started for the run:
 *  1. ingest: usage records through the recorder (journal on local disk, batches into the Redis
 *     ledger) per second, counted by id afterwards (target ≥ 50 000/s, none lost);
 *  2. report: a month of usage for 10 000 accounts aggregated from the raw records into the billing
 *     report (target < 10 s); also the report from already stored daily aggregates; and the month's
 *     raw records read in time order through `ledger.range` (what a usage query over a month does);
 *  3. the same report and month range on the embedded (SQLite) store, from a file in a temp folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import { systemClock } from '../kernel/clock.ts';
import { silentLogger } from '../kernel/logger.ts';
import { createStores } from '../store/index.ts';
import type { Stores } from '../store/types.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { openJournal } from '../metering/journal.ts';
import { createUsageRecorder } from '../metering/recorder.ts';
import { createReporting } from '../metering/reports.ts';
import { toLedgerEntry } from '../metering/ledger-entry.ts';
import type { FeeSchedule } from '../metering/fees.ts';
import { USAGE_STREAM, type UsageRecord } from '../metering/types.ts';
import { DEFAULT_WEIGHTS } from '../metering/weights.ts';

const INGEST_RECORDS = Number(process.env.BENCH_METERING_RECORDS ?? 300_000);
const INGEST_TARGET = 50_000;
const ACCOUNTS = 10_000;
const REPORT_TARGET_MS = 10_000;
const SERVICES = ['agora', 'meet', 'oficina'];

const fmt = (n: number) => Math.round(n).toLocaleString('en');

/**
 * CPU microseconds redis-server has used so far (INFO cpu). With the CPU of this process it shows what
 * the work costs whatever else runs on the machine (wall-clock figures move with the load).
 */
async function redisCpuUsec(url: string): Promise<number> {
  const client = new Redis(url);
  try {
    const info = await client.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    return (field('used_cpu_user') + field('used_cpu_sys')) * 1e6;
  } finally {
    client.disconnect();
  }
}

const cpuUsec = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return d.user + d.system;
};

async function ingest(stores: Stores, dir: string, redisUrl: string): Promise<{ lines: string[]; ok: boolean }> {
  const stream = 'bench-usage';
  const recorder = createUsageRecorder({
    ledger: stores.ledger,
    journal: openJournal(join(dir, 'journal'), silentLogger),
    clock: systemClock,
    logger: silentLogger,
    flushIntervalMs: 100,
    flushBatchSize: 500,
    bufferLimit: 50_000,
    stream,
  });
  const redisBefore = await redisCpuUsec(redisUrl);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  let recorded = 0;
  let refused = 0;
  // Like a busy gateway: bursts of records, with the event loop free in between for the flushes.
  while (recorded + refused < INGEST_RECORDS) {
    for (let i = 0; i < 1000 && recorded + refused < INGEST_RECORDS; i++) {
      const n = recorded + refused;
      const ok = recorder.record({ subject: `acc-${n % ACCOUNTS}`, service: SERVICES[n % 3], kind: 'request', units: { requests: 1, bytesIn: 200, bytesOut: 4096 }, routeClass: 'read', method: 'GET', status: 200, durationMs: 3 });
      if (ok) recorded += 1;
      else refused += 1;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const acceptedMs = performance.now() - started;
  const flushed = await recorder.close();
  const elapsedMs = performance.now() - started;
  const nodeUs = cpuUsec(cpuBefore) / INGEST_RECORDS;
  const redisUs = ((await redisCpuUsec(redisUrl)) - redisBefore) / INGEST_RECORDS;
  const inLedger = await stores.ledger.count(stream); // the ledger holds each id once: distinct ids
  const rate = (INGEST_RECORDS / elapsedMs) * 1000;
  const ok = flushed && refused === 0 && inLedger === INGEST_RECORDS && rate >= INGEST_TARGET;
  await stores.ledger.deleteBefore(stream, Number.MAX_SAFE_INTEGER);
  return {
    ok,
    lines: [
      `ingest: ${fmt(INGEST_RECORDS)} records accepted in ${fmt(acceptedMs)} ms, all in the Redis ledger after ${fmt(elapsedMs)} ms`,
      `ingest: ${fmt(rate)} records/s into Redis (target ≥ ${fmt(INGEST_TARGET)}/s): ${rate >= INGEST_TARGET ? 'PASS' : 'FAIL'}`,
      `ingest: CPU per record: ${nodeUs.toFixed(1)} µs in Porta (producing, journal, encoding), ${redisUs.toFixed(1)} µs in redis-server; ceiling with a core each ≈ ${fmt(1e6 / Math.max(nodeUs, redisUs))}/s (load average at start ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
      `ingest: counted by id in the ledger ${fmt(inLedger)} of ${fmt(INGEST_RECORDS)}, refused ${refused}, lost ${INGEST_RECORDS - inLedger}: ${inLedger === INGEST_RECORDS && refused === 0 ? 'PASS' : 'FAIL'}`,
    ],
  };
}

/** What `record()` costs the request path: the call alone, timed, with a ledger that only counts. */
async function hotPath(dir: string): Promise<string[]> {
  let taken = 0;
  const ledger: Pick<Stores['ledger'], 'append'> = {
    append: async (_s, batch) => {
      const n = 'count' in batch ? batch.count : batch.length;
      taken += n;
      return n;
    },
  };
  const recorder = createUsageRecorder({ ledger: ledger as Stores['ledger'], journal: openJournal(join(dir, 'hot-journal'), silentLogger), clock: systemClock, logger: silentLogger, flushIntervalMs: 100, flushBatchSize: 500, bufferLimit: 50_000 });
  const n = 100_000;
  let inCalls = 0;
  for (let done = 0; done < n; ) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 1000; i++, done++) recorder.record({ subject: `acc-${done % ACCOUNTS}`, service: 'agora', kind: 'request', units: { requests: 1, bytesIn: 200, bytesOut: 4096 }, routeClass: 'read', method: 'GET', status: 200, durationMs: 3 });
    inCalls += Number(process.hrtime.bigint() - t);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await recorder.close();
  return [`hot path: record() takes ${(inCalls / n / 1000).toFixed(1)} µs per call (journal write included); ${fmt(taken)} of ${fmt(n)} handed to the ledger`];
}

/** March 2026: every account uses one service a day (rotating), and holds a subscription. */
async function seedMonth(stores: Stores): Promise<{ records: number; schedule: FeeSchedule }> {
  const from = Date.UTC(2026, 2, 1);
  let batch: UsageRecord[] = [];
  let records = 0;
  for (let day = 0; day < 31; day++) {
    for (let a = 0; a < ACCOUNTS; a++) {
      const service = SERVICES[(a + day) % 3];
      const units = service === 'meet' ? { participantMinutes: 20 + (a % 40) } : service === 'oficina' ? { requests: 30 + (a % 17), bytesOut: 1_000_000 * (1 + (a % 5)), storageByteDays: 2 ** 30 } : { requests: 10 + (a % 23) };
      batch.push({ id: `m-${day}-${a}`, time: from + day * 86_400_000 + ((a * 7919) % 86_400_000), subject: `acc-${a}`, service, kind: service === 'meet' ? 'meeting' : 'request', units });
      if (batch.length === 2000) {
        records += await stores.ledger.append(USAGE_STREAM, batch.map(toLedgerEntry));
        batch = [];
      }
    }
  }
  if (batch.length > 0) records += await stores.ledger.append(USAGE_STREAM, batch.map(toLedgerEntry));
  const plans = ['oficina-basic', 'oficina-medium', 'meetings-supporter'];
  const schedule: FeeSchedule = {
    plans: { 'oficina-basic': { price: { cents: 500, period: 'month' } }, 'oficina-medium': { price: { cents: 1000, period: 'month' } }, 'meetings-supporter': { price: { cents: 12000, period: 'year' } } },
    extraStorageBlock: { priceCents: 500, period: 'month' },
    subscriptions: Array.from({ length: ACCOUNTS }, (_, a) => ({ id: `s-${a}`, holder: { account: `acc-${a}` }, plan: plans[a % 3], extraBlocks: a % 4 === 0 ? 1 : 0, from: a % 10 === 0 ? Date.UTC(2026, 2, 11) : Date.UTC(2026, 0, 1), coversMembers: false })),
  };
  return { records, schedule };
}

/** Reads the whole month through `ledger.range` (one stream, pages in time order) and counts it. */
async function monthRange(stores: Stores, redisUrl: string | undefined, label: string): Promise<{ line: string; count: number }> {
  const redisBefore = redisUrl ? await redisCpuUsec(redisUrl) : 0;
  const started = performance.now();
  let count = 0;
  for await (const _entry of stores.ledger.range(USAGE_STREAM, Date.UTC(2026, 2, 1), Date.UTC(2026, 3, 1))) count += 1;
  const ms = performance.now() - started;
  const redisMs = redisUrl ? ((await redisCpuUsec(redisUrl)) - redisBefore) / 1000 : 0;
  return { count, line: `${label}: the month's ${fmt(count)} raw records read in time order through ledger.range in ${fmt(ms)} ms${redisUrl ? ` (${fmt(redisMs)} ms CPU in redis-server)` : ''}` };
}

async function report(stores: Stores, redisUrl: string | undefined, label = 'report'): Promise<{ lines: string[]; ok: boolean }> {
  const seedStarted = performance.now();
  const { records, schedule } = await seedMonth(stores);
  const seedMs = performance.now() - seedStarted;
  const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: async () => schedule, weights: DEFAULT_WEIGHTS });

  const redisBefore = redisUrl ? await redisCpuUsec(redisUrl) : 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const result = await reporting.billingReport('2026-03');
  const fullMs = performance.now() - started;
  const nodeMs = cpuUsec(cpuBefore) / 1000;
  const redisMs = redisUrl ? ((await redisCpuUsec(redisUrl)) - redisBefore) / 1000 : 0;
  const exact = result.subscribers.every((s) => s.split.reduce((n, p) => n + p.cents, 0) === s.feeCents);
  const counted = result.services.reduce((n, t) => n + t.records, 0);
  const range = await monthRange(stores, redisUrl, label);
  const ok = fullMs < REPORT_TARGET_MS && exact && result.subscribers.length === ACCOUNTS && counted === records && range.count === records;
  return {
    ok,
    lines: [
      `${label}: seeded ${fmt(records)} raw records for ${fmt(ACCOUNTS)} accounts over March in ${fmt(seedMs)} ms`,
      `${label}: month aggregated from raw records (31 daily + 1 monthly aggregate stored) into the billing report in ${fmt(fullMs)} ms (target < ${fmt(REPORT_TARGET_MS)} ms): ${fullMs < REPORT_TARGET_MS ? 'PASS' : 'FAIL'}`,
      `${label}: CPU ${fmt(nodeMs)} ms in Porta${redisUrl ? `, ${fmt(redisMs)} ms in redis-server` : ''} (load average ${loadavg()[0].toFixed(1)} on ${cpus().length} cores)`,
      `${label}: ${fmt(result.subscribers.length)} subscribers, total ${fmt(result.totalFeeCents)} cents, every split sums to its fee: ${exact ? 'PASS' : 'FAIL'}; records counted ${fmt(counted)} of ${fmt(records)}`,
      range.line,
    ],
  };
}

/** The report half on a fresh embedded store (one SQLite file), as a single-machine install runs it. */
async function embeddedReport(dir: string): Promise<{ lines: string[]; ok: boolean }> {
  const stores = await createStores({ kind: 'embedded', path: join(dir, 'embedded', 'porta.db'), keyPrefix: '' });
  try {
    return await report(stores, undefined, 'embedded');
  } finally {
    await stores.close();
  }
}

export async function run(): Promise<{ name: string; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'porta-bench-metering-'));
  const redis = await startRedis();
  // BENCH_METERING_STORE=embedded runs the report half on the SQLite store instead (the ingest half needs Redis).
  const stores = await createStores(process.env.BENCH_METERING_STORE === 'embedded' ? { kind: 'embedded', path: join(dir, 'bench.db'), keyPrefix: '' } : { kind: 'redis', url: redis.url, keyPrefix: 'bench:', path: 'unused' });
  try {
    const only = process.env.BENCH_METERING_ONLY; // `hot`, `ingest`, `report` or `embedded`, to run one part
    const runs = (part: string) => only === undefined || only === part;
    const skipped = { ok: true, lines: [] };
    const hot = runs('hot') ? await hotPath(dir) : [];
    const a = runs('ingest') ? await ingest(stores, dir, redis.url) : skipped;
    const b = runs('report') ? await report(stores, stores.kind === 'redis' ? redis.url : undefined, stores.kind === 'redis' ? 'report' : 'report (embedded)') : skipped;
    const c = runs('embedded') && stores.kind === 'redis' ? await embeddedReport(dir) : skipped;
    return { name: `metering (Redis ledger, then embedded; ${a.ok && b.ok && c.ok ? 'PASS' : 'FAIL'})`, lines: [...hot, ...a.lines, ...b.lines, ...c.lines] };
  } finally {
    await stores.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.stdout.write(`${result.name}\n${result.lines.map((l) => `  ${l}`).join('\n')}\n`);
}
