import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { pino } from 'pino';
import { ManualClock } from '../../kernel/clock.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createEmbeddedStores, type EmbeddedStores } from '../../store/index.ts';
import { openJournal } from '../../metering/journal.ts';
import { createUsageRecorder, type UsageRecorder, type UsageRecorderOptions } from '../../metering/recorder.ts';
import { USAGE_STREAM, type UsageInput } from '../../metering/types.ts';
import { FaultyLedger, idsIn } from './faulty-ledger.ts';
import type { GatewayDeps, GatewayUsageRecord } from '../../gateway/types.ts';

/** Segment files in every process folder under a journal root. */
const segmentFiles = (root: string) => readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jsonl'));

const use = (i: number): UsageInput => ({ id: `rec-${String(i).padStart(6, '0')}`, subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1, bytesOut: i } });

describe('usage recorder over the embedded ledger', () => {
  let dir: string;
  let stores: EmbeddedStores;
  let ledger: FaultyLedger;
  let recorder: UsageRecorder | undefined;
  const clock = new ManualClock(Date.UTC(2026, 2, 10));

  const make = (overrides: Partial<UsageRecorderOptions> = {}) =>
    createUsageRecorder({
      ledger,
      journal: openJournal(join(dir, 'journal'), silentLogger),
      clock,
      logger: silentLogger,
      flushIntervalMs: 60_000, // tests flush explicitly unless they test the timer
      flushBatchSize: 50,
      bufferLimit: 1000,
      ...overrides,
    });

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'porta-recorder-'));
    stores = await createEmbeddedStores({ path: join(dir, 'porta.db') });
    ledger = new FaultyLedger(stores.ledger);
  });
  afterEach(async () => {
    await recorder?.close();
    recorder = undefined;
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('gives each record an id and the clock time, and writes it on flush', async () => {
    recorder = make();
    expect(recorder.record({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } })).toBe(true);
    expect(await ledger.count(USAGE_STREAM)).toBe(0); // nothing on the request path
    expect(await recorder.flush()).toBe(true);
    const [entry] = (await ledger.read(USAGE_STREAM)).entries;
    expect(entry.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(entry.time).toBe(clock.now());
    expect(entry.data).toEqual({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } });
  });

  it('keeps only what billing needs: no IP, no raw path, no headers, no nonsense units', async () => {
    recorder = make();
    const fromAGateway = { ...use(1), ip: '203.0.113.7', path: '/remote.php/dav/files/anna/diary.txt?token=abc', headers: { cookie: 's=1' }, units: { requests: 1, secret: 5, bytesOut: -20, bytesIn: Number.NaN } };
    expect(recorder.record(fromAGateway as unknown as UsageInput)).toBe(true);
    await recorder.flush();
    const [entry] = (await ledger.read(USAGE_STREAM)).entries;
    expect(entry.data).toEqual({ subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1 } });
  });

  it('stores exactly the JSON of the fields a record may hold, whatever their text or numbers', async () => {
    recorder = make();
    const texts = ['anna', 'añña "quoted" \\ back\nslash\ttab', '😀 €', '</script>', '\u2028\u0000', ''];
    const numbers = [0, 1, 0.5, 1e21, 123456789012345, -0, 2 ** 53];
    const inputs: UsageInput[] = [];
    for (let i = 0; i < 60; i++) {
      const text = texts[i % texts.length] || 'x';
      const n = numbers[i % numbers.length];
      inputs.push({
        id: `enc-${i}`,
        subject: text,
        service: `svc-${texts[(i + 1) % texts.length]}`,
        kind: (['request', 'storage', 'meeting'] as const)[i % 3],
        units: (i % 5 === 0 ? undefined : { requests: n, bytesIn: i % 2 ? n : undefined, hostMinutes: i % 4 ? n : -1 }) as unknown as UsageInput['units'], // a producer may leave them out
        ...(i % 2 ? { collective: texts[(i + 2) % texts.length] } : {}),
        ...(i % 3 ? { routeClass: `/${text}`, method: 'PROPFIND' } : {}),
        ...(i % 4 ? { status: 200 + i, durationMs: n } : {}),
      });
    }
    for (const input of inputs) expect(recorder.record(input)).toBe(true);
    await recorder.flush();
    const stored = new Map((await ledger.read(USAGE_STREAM, { limit: 1000 })).entries.map((e) => [e.id, e.data]));
    for (const input of inputs) {
      // What the record's fields give through an object and JSON.stringify, as a reference.
      const units: Record<string, number> = {};
      for (const [kind, value] of Object.entries(input.units ?? {})) if (typeof value === 'number' && Number.isFinite(value) && value >= 0) units[kind] = value;
      const { id, ...fields } = input;
      const expected = JSON.parse(JSON.stringify({ subject: fields.subject, service: fields.service, kind: fields.kind, units, collective: fields.collective, routeClass: fields.routeClass, method: fields.method, status: fields.status, durationMs: fields.durationMs }));
      expect(stored.get(id!)).toEqual(expected);
    }
  });

  it('counts the gateway\'s equal requests as one record (tally), journaled within the group-commit window', async () => {
    recorder = make();
    const from = (over: Partial<GatewayUsageRecord>): GatewayUsageRecord => ({ time: clock.now(), subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1, bytesIn: 10, bytesOut: 20 }, routeClass: 'read', method: 'GET', status: 200, durationMs: 4, ...over });
    const recordUsage: NonNullable<GatewayDeps['recordUsage']> = (record) => recorder!.tally(record);
    expect(recordUsage(from({}))).toBe(true);
    expect(recordUsage(from({ units: { requests: 1, bytesIn: 1, bytesOut: 2 }, durationMs: 6 }))).toBe(true);
    expect(recordUsage(from({ status: 404 }))).toBe(true);
    // journaled(): in the journal now, so a kill from here on loses nothing (read back as a replay would).
    await recorder.journaled();
    const [segment] = segmentFiles(join(dir, 'journal'));
    const lines = readFileSync(join(dir, 'journal', segment), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2);
    await recorder.flush();
    const entries = (await ledger.read(USAGE_STREAM)).entries;
    expect(new Set(entries.map((e) => e.id)).size).toBe(2);
    expect(entries.map(({ time, data }) => ({ time, data }))).toEqual([
      { time: clock.now(), data: { subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 2, bytesIn: 11, bytesOut: 22 }, routeClass: 'read', method: 'GET', status: 200, durationMs: 10 } },
      { time: clock.now(), data: { subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1, bytesIn: 10, bytesOut: 20 }, routeClass: 'read', method: 'GET', status: 404, durationMs: 4 } },
    ]);
  });

  it('writes tallied requests to the journal on its own, a few ms after the first of them', async () => {
    recorder = make();
    expect(recorder.tally({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } })).toBe(true);
    expect(segmentFiles(join(dir, 'journal'))).toEqual([]);
    await new Promise((r) => setTimeout(r, 50));
    const [segment] = segmentFiles(join(dir, 'journal'));
    expect(readFileSync(join(dir, 'journal', segment), 'utf8')).toContain('"units":{"requests":1}');
  });

  it('writes held tallies on close', async () => {
    recorder = make();
    recorder.tally({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } });
    recorder.tally({ subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } });
    expect(await recorder.close()).toBe(true);
    recorder = undefined;
    expect((await ledger.read(USAGE_STREAM)).entries.map((e) => e.data.units)).toEqual([{ requests: 2 }]);
  });

  it('says in the log when journaling starts and when the journal is replayed', async () => {
    const lines: Array<{ msg: string; level: number }> = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    recorder = make({ logger, flushBatchSize: 10 });
    ledger.failNext(1000);
    for (let i = 0; i < 30; i++) recorder.record(use(i));
    await recorder.flush();
    await recorder.flush();
    ledger.failNext(0);
    await recorder.flush();
    expect(lines.map((l) => l.msg)).toEqual([
      'usage ledger append failed: keeping usage records in the local journal until it answers',
      'usage ledger answers again: journal replayed',
    ]);
    expect(lines[0].level).toBe(50); // error
  });

  it('flushes by count without being asked', async () => {
    recorder = make({ flushBatchSize: 10 });
    for (let i = 0; i < 25; i++) recorder.record(use(i));
    // The count-triggered flushes run on setImmediate, not inside record(); wait for them (no flush() call).
    for (let waited = 0; recorder.stats().pending > 5 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await ledger.count(USAGE_STREAM)).toBe(20);
    expect(recorder.stats().pending).toBe(5);
  });

  it('flushes on the interval', async () => {
    recorder = make({ flushIntervalMs: 20 });
    recorder.record(use(1));
    for (let waited = 0; recorder.stats().pending > 0 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await ledger.count(USAGE_STREAM)).toBe(1);
  });

  it('never counts twice when a flush is retried after a lost reply', async () => {
    recorder = make({ maxInFlight: 1 }); // one batch at a time, so the two failures hit the same batch
    for (let i = 0; i < 120; i++) recorder.record(use(i));
    ledger.failNext(2, 'after'); // the ledger wrote the batch but the reply was lost, twice
    expect(await recorder.flush()).toBe(false);
    expect(await recorder.flush()).toBe(false);
    expect(await recorder.flush()).toBe(true);
    const ids = await idsIn(ledger, USAGE_STREAM);
    expect(ids.size).toBe(120);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    // `written` counts records new to the ledger: the first batch of 50 landed on the first try.
    expect(recorder.stats()).toMatchObject({ pending: 0, written: 70, degraded: false });
  });

  it('never counts twice with several appends in flight and replies lost at random', async () => {
    recorder = make({ flushBatchSize: 7 });
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 100; i++) recorder.record(use(round * 100 + i));
      ledger.failNext(3, 'after');
      await recorder.flush();
    }
    while (!(await recorder.flush())) {
      // the retries are idempotent; keep flushing until the ledger has everything
    }
    const ids = await idsIn(ledger, USAGE_STREAM);
    expect(ids.size).toBe(500);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(recorder.stats()).toMatchObject({ pending: 0, degraded: false });
  });

  it('keeps records in the journal while the ledger fails and replays them when it answers', async () => {
    const metrics = new Registry();
    recorder = make({ metrics, flushBatchSize: 30 });
    ledger.failNext(1000);
    for (let i = 0; i < 100; i++) expect(recorder.record(use(i))).toBe(true);
    expect(await recorder.flush()).toBe(false);
    expect(recorder.stats()).toMatchObject({ pending: 100, degraded: true });
    expect(segmentFiles(join(dir, 'journal'))).toHaveLength(4);
    expect(await ledger.count(USAGE_STREAM)).toBe(0);
    ledger.failNext(0);
    expect(await recorder.flush()).toBe(true);
    expect(recorder.stats()).toMatchObject({ pending: 0, written: 100, degraded: false });
    expect(segmentFiles(join(dir, 'journal'))).toEqual([]);
    const text = await metrics.metrics();
    expect(text).toMatch(/porta_usage_journaled_total \d+/);
    expect(text).toContain('porta_usage_written_total 100');
    expect(text).toContain('porta_usage_pending 0');
  });

  it('holds at most bufferLimit records in memory and reads the rest back from the journal', async () => {
    recorder = make({ bufferLimit: 40, flushBatchSize: 20 });
    ledger.failNext(1000);
    for (let i = 0; i < 200; i++) recorder.record(use(i));
    await recorder.flush();
    ledger.failNext(0);
    expect(await recorder.flush()).toBe(true);
    const ids = await idsIn(ledger, USAGE_STREAM);
    expect(ids.size).toBe(200);
    expect([...ids.keys()].sort()).toEqual(Array.from({ length: 200 }, (_, i) => use(i).id));
    expect(recorder.stats().pending).toBe(0);
  });

  it('leaves unwritten records in the journal on close; the next recorder replays them', async () => {
    recorder = make();
    ledger.failNext(1000);
    for (let i = 0; i < 70; i++) recorder.record(use(i));
    expect(await recorder.close()).toBe(false);
    expect(recorder.record(use(999))).toBe(false); // closed
    ledger.failNext(0);
    recorder = make();
    expect(await recorder.flush()).toBe(true);
    expect((await idsIn(ledger, USAGE_STREAM)).size).toBe(70);
  });

  it('keeps a batch in memory past the buffer limit when a write to its journal segment failed', async () => {
    const journal = openJournal(join(dir, 'journal'), silentLogger);
    // A segment one of whose group writes failed: its file lacks records (here: all of them).
    const failing = {
      ...journal,
      dir: journal.dir,
      writable: true,
      seal: () => {
        const segment = journal.seal();
        if (segment) writeFileSync(segment.path, '');
        return segment && { ...segment, complete: false };
      },
    };
    recorder = createUsageRecorder({ ledger, journal: failing, clock, logger: silentLogger, flushIntervalMs: 60_000, flushBatchSize: 1000, bufferLimit: 0 });
    for (let i = 0; i < 30; i++) expect(recorder.record(use(i))).toBe(true);
    ledger.failNext(1); // the first append fails: the batch waits, and must not be read back from the file
    expect(await recorder.flush()).toBe(false);
    expect(await recorder.flush()).toBe(true);
    expect((await idsIn(ledger, USAGE_STREAM)).size).toBe(30);
  });

  it('refuses records and turns unhealthy when the journal cannot be written', async () => {
    const locked = join(dir, 'not-a-folder');
    writeFileSync(locked, 'a file where the journal folder should go'); // fails even for root, unlike chmod
    const metrics = new Registry();
    recorder = createUsageRecorder({ ledger, journal: openJournal(join(locked, 'journal'), silentLogger), clock, logger: silentLogger, metrics, flushIntervalMs: 60_000, flushBatchSize: 10, bufferLimit: 100 });
    expect(recorder.healthy).toBe(false);
    expect(recorder.record(use(1))).toBe(false);
    expect(recorder.tally(use(2))).toBe(false);
    expect(recorder.stats().refused).toBe(2);
    expect(await metrics.metrics()).toContain('porta_usage_journal_writable 0');
    expect(await ledger.count(USAGE_STREAM)).toBe(0);
  });

  it('rejects a record without subject or service (a programming error)', () => {
    recorder = make();
    expect(() => recorder!.record({ subject: '', service: 'x', kind: 'request', units: {} })).toThrow('subject');
  });
});
