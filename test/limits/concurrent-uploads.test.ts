/**
 * Concurrent uploads through two gateway instances (each with its own enforcer and its own Redis
 * connection, as two processes would have) sharing one real Redis: together they never store more
 * than the quota, whatever the upload shape.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createRedisStores, type RedisStores } from '../../store/redis/index.ts';
import { createStorageQuotaEnforcer } from '../../gateway/enforcers/webdav/index.ts';
import type { EnforcedLimits } from '../../gateway/enforcers/types.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startWebdavSimulator, type WebdavSimulator } from '../simulators/webdav-server.ts';
import { startEnforcedProxy, type EnforcedProxy } from './enforced-proxy.ts';
import { call, type Reply } from './http-client.ts';
import { eventually } from './eventually.ts';

const KiB = 1024;
const QUOTA = 1024 * KiB;
const limits: EnforcedLimits = { plans: ['storage-basic'], storage: QUOTA, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0 };

let redis: RedisServer;
let sim: WebdavSimulator;
const stores: RedisStores[] = [];
const proxies: EnforcedProxy[] = [];

beforeAll(async () => {
  redis = await startRedis();
  sim = await startWebdavSimulator();
  for (let i = 0; i < 2; i++) {
    const s = await createRedisStores({ url: redis.url, keyPrefix: 'porta-test:' });
    stores.push(s);
    const enforcer = createStorageQuotaEnforcer({ service: { id: 'oficina', name: 'Oficina', upstream: sim.url }, counters: s.counters, kv: s.kv, blockBytes: 32 * KiB });
    proxies.push(await startEnforcedProxy({ upstream: sim.url, enforcer, limitsOf: () => limits }));
  }
});

afterAll(async () => {
  for (const p of proxies) await p.close();
  for (const s of stores) await s.close();
  await sim.close();
  await redis.stop();
});

const put = (proxy: EnforcedProxy, user: string, name: string, body: Buffer | Buffer[]): Promise<Reply> =>
  call(`${proxy.url}/remote.php/dav/files/${user}/${name}`, { method: 'PUT', headers: { 'x-test-user': user }, body });

describe('concurrent uploads through two gateway processes', () => {
  it('store at most the quota with Content-Length uploads', async () => {
    const replies = await Promise.all(Array.from({ length: 10 }, (_, i) => put(proxies[i % 2], 'nia', `f${i}.bin`, Buffer.alloc(300 * KiB, i))));
    const stored = replies.filter((r) => r.status === 201).length;
    expect(replies.every((r) => r.status === 201 || r.status === 507)).toBe(true);
    expect(stored).toBe(3);
    expect(sim.peakUsedBytes('nia')).toBeLessThanOrEqual(QUOTA);
    expect(sim.usedBytes('nia')).toBe(900 * KiB);
  });

  it('store at most the quota with streamed (chunked) uploads cut mid-stream', async () => {
    const body = () => Array.from({ length: 10 }, () => Buffer.alloc(30 * KiB, 7));
    const replies = await Promise.all(Array.from({ length: 8 }, (_, i) => put(proxies[i % 2], 'oto', `s${i}.bin`, body())));
    expect(replies.every((r) => r.status === 201 || r.status === 507)).toBe(true);
    // How many land depends on how the eight interleave (uploads of unknown length that all stream at
    // once can all run out together: none is promised to finish); never more than the quota holds.
    const stored = replies.filter((r) => r.status === 201).length;
    expect(stored * 300 * KiB).toBeLessThanOrEqual(QUOTA);
    expect(await eventually(async () => (await stores[0].counters.get('quota:held:oto')) === 0)).toBe(true);
    expect(sim.peakUsedBytes('oto')).toBeLessThanOrEqual(QUOTA);
    // Nothing stays reserved by the refused ones: one more upload lands exactly when it still fits.
    const after = await put(proxies[0], 'oto', 'after.bin', body());
    expect(after.status).toBe((stored + 1) * 300 * KiB <= QUOTA ? 201 : 507);
    // Every stored file is whole: a cut upload leaves nothing behind.
    for (let i = 0; i < 8; i++) {
      const size = sim.fileSize('oto', `s${i}.bin`);
      expect(size === undefined || size === 300 * KiB).toBe(true);
    }
  });

  it('count an upload landed through one process in the other process right away', async () => {
    // Process 1 reads (and caches) the usage first.
    expect((await put(proxies[1], 'pau', 'small.bin', Buffer.alloc(10 * KiB))).status).toBe(201);
    expect((await put(proxies[0], 'pau', 'a.bin', Buffer.alloc(600 * KiB))).status).toBe(201);
    // Its cached usage is no longer trusted once process 0's upload landed.
    expect((await put(proxies[1], 'pau', 'b.bin', Buffer.alloc(600 * KiB))).status).toBe(507);
    expect(sim.peakUsedBytes('pau')).toBe(610 * KiB);
  });
});
