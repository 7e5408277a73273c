import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { systemClock } from '../../kernel/clock.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createStores, type Stores } from '../../store/index.ts';
import { openJournal } from '../../metering/journal.ts';
import { createUsageRecorder } from '../../metering/recorder.ts';
import { USAGE_STREAM } from '../../metering/types.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { idsIn } from './faulty-ledger.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops Redis the way an operator's restart does, keeping its data (SHUTDOWN SAVE writes the dump restart() loads). */
async function shutdownKeepingData(url: string): Promise<void> {
  const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  await admin.connect();
  await admin.call('SHUTDOWN', 'SAVE').catch(() => undefined); // the connection closes under the reply
  admin.disconnect();
}

describe('Redis stopped under traffic, then restarted', () => {
  let redis: RedisServer;
  let stores: Stores;
  const dir = mkdtempSync(join(tmpdir(), 'porta-outage-'));

  beforeAll(async () => {
    redis = await startRedis();
    stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'metering-test:', path: 'unused' });
  });
  afterAll(async () => {
    await stores.close();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no record and counts none twice', async () => {
    const recorder = createUsageRecorder({
      ledger: stores.ledger,
      journal: openJournal(join(dir, 'journal'), silentLogger),
      clock: systemClock,
      logger: silentLogger,
      flushIntervalMs: 20,
      flushBatchSize: 100,
      bufferLimit: 500,
      appendTimeoutMs: 1000,
      maxRetryDelayMs: 200,
    });

    let acked = 0;
    let refused = 0;
    let running = true;
    const traffic = (async () => {
      while (running) {
        for (let i = 0; i < 25; i++) {
          if (recorder.record({ id: `out-${String(acked).padStart(8, '0')}`, subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } })) acked += 1;
          else refused += 1;
        }
        await sleep(2);
      }
    })();

    await sleep(300);
    const beforeOutage = acked;
    await shutdownKeepingData(redis.url);
    await sleep(800); // traffic goes on against a dead Redis
    expect(recorder.stats().degraded).toBe(true);
    await redis.restart();
    await sleep(400);
    running = false;
    await traffic;

    // The client reconnects on its own schedule: flush until everything is in.
    const deadline = Date.now() + 15_000;
    while (!(await recorder.flush())) {
      if (Date.now() > deadline) throw new Error(`ledger did not take the journal back: ${JSON.stringify(recorder.stats())}`);
      await sleep(100);
    }
    await recorder.close();

    const stats = recorder.stats();
    expect(refused).toBe(0); // the journal took everything the ledger could not
    expect(acked).toBeGreaterThan(beforeOutage);
    expect(stats.journaled).toBeGreaterThan(0);
    expect(stats.ledgerFailures).toBeGreaterThan(0);
    expect(stats.pending).toBe(0);

    const ids = await idsIn(stores.ledger, USAGE_STREAM);
    expect(ids.size).toBe(acked);
    expect(await stores.ledger.count(USAGE_STREAM)).toBe(acked);
    for (let i = 0; i < acked; i++) expect(ids.get(`out-${String(i).padStart(8, '0')}`)).toBe(1);
  });
});
