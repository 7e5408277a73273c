import { describe, it, expect, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { systemClock } from '../../kernel/clock.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createEmbeddedStores } from '../../store/index.ts';
import { openJournal } from '../../metering/journal.ts';
import { createUsageRecorder } from '../../metering/recorder.ts';
import { createReporting } from '../../metering/reports.ts';
import { USAGE_STREAM } from '../../metering/types.ts';
import { idsIn } from './faulty-ledger.ts';

const child = fileURLToPath(new URL('./kill-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porta-kill-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the child until its ledger is mid-flush, then SIGKILLs it; returns the last acknowledged count. */
function runAndKill(db: string, journal: string, hangOnAppend: number, mode: 'record' | 'tally' = 'record'): Promise<number> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, db, journal, String(hangOnAppend), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let acked = 0;
    let buffer = '';
    let killed = false;
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const m = /^acked (\d+)$/.exec(line);
        if (m) acked = Number(m[1]);
        if (line === 'mid-flush' && !killed) {
          killed = true;
          proc.kill('SIGKILL');
        }
      }
    });
    proc.on('exit', (code, signal) => (signal === 'SIGKILL' ? resolve(acked) : reject(new Error(`child exited ${code} ${signal}`))));
  });
}

describe('killing the process during a flush', () => {
  it('loses no acknowledged record and counts none twice after the journal is replayed', async () => {
    const db = join(dir, 'porta.db');
    const journal = join(dir, 'journal');
    const acked = await runAndKill(db, journal, 8);
    expect(acked).toBeGreaterThan(700); // 7 batches of 100 went through before the hung one

    const stores = await createEmbeddedStores({ path: db });
    const before = await stores.ledger.count(USAGE_STREAM);
    expect(before).toBeLessThan(acked); // the kill really left records outside the ledger
    expect(readdirSync(journal, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.jsonl'))).toBe(true);

    // A new process on the same journal root adopts the dead child's folder and replays it.
    const recorder = createUsageRecorder({ ledger: stores.ledger, journal: openJournal(journal, silentLogger), clock: systemClock, logger: silentLogger, flushIntervalMs: 60_000, flushBatchSize: 100, bufferLimit: 1000 });
    expect(await recorder.close()).toBe(true);

    const ids = await idsIn(stores.ledger, USAGE_STREAM);
    // Every id from 0 up: none missing. The record being written at the kill may be there unacknowledged.
    expect(ids.size).toBeGreaterThanOrEqual(acked);
    expect(ids.size).toBeLessThanOrEqual(acked + 50);
    for (let i = 0; i < ids.size; i++) expect(ids.has(`kill-${String(i).padStart(8, '0')}`)).toBe(true);
    expect([...ids.values()].every((n) => n === 1)).toBe(true);
    expect(readdirSync(journal, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.jsonl'))).toEqual([]);

    // And the aggregates count each request once.
    const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: async () => ({ plans: {}, extraStorageBlock: null, subscriptions: [] }) });
    const usage = await reporting.usage({ from: 0, to: Date.now() + 1000 });
    expect(usage.rows.reduce((n, r) => n + (r.units.requests ?? 0), 0)).toBe(ids.size);
    await stores.close();
  });
});

describe('killing the process during a flush, with requests counted together (the gateway\'s tally)', () => {
  it('loses no acknowledged request and counts none twice after the journal is replayed', async () => {
    const db = join(dir, 'tally.db');
    const journal = join(dir, 'tally-journal');
    const acked = await runAndKill(db, journal, 8, 'tally');
    const bursts = acked / 50;
    expect(bursts).toBeGreaterThan(700); // a record per burst of 50 requests; 7 batches of 100 records went through before the hung one

    const stores = await createEmbeddedStores({ path: db });
    expect(await stores.ledger.count(USAGE_STREAM)).toBeLessThan(bursts); // the kill left records outside the ledger
    const recorder = createUsageRecorder({ ledger: stores.ledger, journal: openJournal(journal, silentLogger), clock: systemClock, logger: silentLogger, flushIntervalMs: 60_000, flushBatchSize: 100, bufferLimit: 1000 });
    expect(await recorder.close()).toBe(true);

    const entries: Array<{ subject: string; units: unknown }> = [];
    for await (const e of stores.ledger.range(USAGE_STREAM, 0, Date.now() + 1000)) entries.push({ subject: e.data.subject as string, units: e.data.units });
    const perBurst = new Map<string, number>();
    for (const { subject } of entries) perBurst.set(subject, (perBurst.get(subject) ?? 0) + 1);
    // Every acknowledged burst is there exactly once, whole (50 requests, bytes 1 + … + 50); at most
    // the burst being journaled at the kill is there too.
    for (let n = 0; n < bursts; n++) expect(perBurst.get(`burst-${n}`)).toBe(1);
    expect(entries.length).toBeLessThanOrEqual(bursts + 1);
    for (const { units } of entries) expect(units).toEqual({ requests: 50, bytesOut: 1275 });
    await stores.close();
  });
});

describe('SIGTERM', () => {
  it('flushes everything recorded before the process exits', async () => {
    const db = join(dir, 'term.db');
    const journal = join(dir, 'term-journal');
    const code = await new Promise<number | null>((resolve) => {
      const proc = spawn(process.execPath, [child, db, journal, 'term'], { stdio: ['ignore', 'pipe', 'inherit'] });
      proc.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('acked 1234')) proc.kill('SIGTERM');
      });
      proc.on('exit', (exitCode) => resolve(exitCode));
    });
    expect(code).toBe(0);
    const stores = await createEmbeddedStores({ path: db });
    expect(await stores.ledger.count(USAGE_STREAM)).toBe(1234);
    expect(readdirSync(journal)).toEqual([]); // no segment left, and the folder released
    await stores.close();
  });
});
