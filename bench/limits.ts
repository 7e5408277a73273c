/**
 * Storage quota overhead: 1 MiB uploads (PUT with Content-Length) through the quota path versus the
 * same proxy without an enforcer, to the Nextcloud-like simulator on loopback. Rounds alternate
 * between the two so that machine noise hits both alike; the figure is the median of the pairs' ratios. Target: the quota path keeps ≥ 90 % of the
 * bare proxy's throughput.
 */
import http from 'node:http';
import { EmbeddedStores } from '../store/embedded/index.ts';
import { createStorageQuotaEnforcer } from '../gateway/enforcers/webdav/index.ts';
import { startWebdavSimulator } from '../test/simulators/webdav-server.ts';
import { startEnforcedProxy, type EnforcedProxy } from '../test/limits/enforced-proxy.ts';

const MiB = 1024 * 1024;
const BODY = Buffer.alloc(MiB, 0x5a);
const CONCURRENCY = 4;
const PER_ROUND = 64;
const ROUNDS = 10;

function put(agent: http.Agent, proxy: EnforcedProxy, user: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { hostname: '127.0.0.1', port: proxy.port, path: `/remote.php/dav/files/${user}/${name}`, method: 'PUT', agent, headers: { 'x-test-user': user, 'content-length': BODY.length } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(BODY);
  });
}

/** MiB/s for `PER_ROUND` uploads, `CONCURRENCY` at a time. */
async function round(agent: http.Agent, proxy: EnforcedProxy, user: string): Promise<number> {
  let next = 0;
  const started = performance.now();
  const worker = async (w: number) => {
    while (next < PER_ROUND) {
      const i = next++;
      const status = await put(agent, proxy, user, `w${w}-${i % 8}.bin`);
      if (status !== 201 && status !== 204) throw new Error(`upload answered ${status}`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  return PER_ROUND / ((performance.now() - started) / 1000);
}

export async function run(): Promise<{ name: string; lines: string[] }> {
  const sim = await startWebdavSimulator();
  const stores = new EmbeddedStores({ path: ':memory:' });
  const enforcer = createStorageQuotaEnforcer({ service: { id: 'oficina', name: 'Oficina', upstream: sim.url }, counters: stores.counters, kv: stores.kv });
  const limits = { plans: ['storage-high'], storage: 100 * 1024 * MiB, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0 };
  const bare = await startEnforcedProxy({ upstream: sim.url });
  const quota = await startEnforcedProxy({ upstream: sim.url, enforcer, limitsOf: () => limits });
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    await round(agent, bare, 'warm-bare');
    await round(agent, quota, 'warm-quota');
    const bareRates: number[] = [];
    const quotaRates: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      bareRates.push(await round(agent, bare, 'bench-bare'));
      quotaRates.push(await round(agent, quota, 'bench-quota'));
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const b = median(bareRates);
    const q = median(quotaRates);
    // Each quota round runs right after a bare one: the median of the pairs' ratios cancels most of
    // the noise of a shared machine.
    const ratio = median(quotaRates.map((rate, i) => rate / bareRates[i]));
    return {
      name: 'limits: 1 MiB WebDAV uploads, storage quota path vs bare proxy',
      lines: [
        `bare proxy:  ${b.toFixed(0)} uploads/s (${b.toFixed(0)} MiB/s), median of ${ROUNDS} rounds of ${PER_ROUND}, ${CONCURRENCY} at a time`,
        `quota path:  ${q.toFixed(0)} uploads/s (${q.toFixed(0)} MiB/s)`,
        `ratio: ${(ratio * 100).toFixed(1)} % of the bare proxy (target ≥ 90 %) ${ratio >= 0.9 ? 'OK' : 'BELOW TARGET'}`,
      ],
    };
  } finally {
    agent.destroy();
    await quota.close();
    await bare.close();
    await sim.close();
    await stores.close();
  }
}
