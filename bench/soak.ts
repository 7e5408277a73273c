/**
 * Soak (`npm run bench -- soak`, or `node bench/soak.ts`): a bounded run of steady, mixed traffic
 * through a real Porta process (`porta start`, every role) on a real redis-server, checking that
 * memory stays flat and nothing fails.
 *
 * Traffic (20 concurrent clients, `SOAK_SECONDS`, default 60): page GETs and API GETs with a session
 * cookie, 64 KiB uploads (PUT), and requests to a service with a small rate limit whose
 * 429s are expected. Every proxied request is metered into the Redis ledger.
 * Memory: the process's RSS and V8 heap (from /metrics) sampled every 2 s; "flat" means the mean of
 * the last third is within 15 % of the mean of the middle third (the first third is warm-up).
 * Errors: any status other than 200 (and 429 on the rate-limited service), or a network error.
 * Metering: the ledger's records must count every proxied request exactly once.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { policyOutOfReach } from './policy-out-of-reach.ts';
import { startRedis } from '../test/helpers/redis-server.ts';
import { freePort } from '../test/helpers/ports.ts';
import { usageInLedger } from '../test/helpers/usage-ledger.ts';
import { spawnPorta, writeConfig } from '../test/helpers/processes.ts';
import { startEchoUpstream } from '../test/gateway/helpers/echo-upstream.ts';
import { Browser, readForm } from '../test/idp/helpers/browser.ts';
import { parseConfig } from '../config/load.ts';
import { createStores } from '../store/index.ts';
import { createDirectory } from '../directory/index.ts';

const POLICY = fileURLToPath(new URL('../test/fixtures/ops/policy.yaml', import.meta.url));
const PASSWORD = 'correct horse battery staple';
const UPLOAD = Buffer.alloc(64 * 1024, 0x62);

interface Sample {
  at: number;
  rss: number;
  heap: number;
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

async function heapOf(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^porta_nodejs_heap_size_used_bytes (\S+)/m.exec(text)?.[1] ?? 0);
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

export async function run(): Promise<{ name: string; lines: string[] }> {
  const seconds = Number(process.env.SOAK_SECONDS ?? 60);
  const dir = mkdtempSync(join(tmpdir(), 'porta-soak-'));
  const [redis, upstream] = await Promise.all([startRedis(), startEchoUpstream()]);
  const ports = { idp: await freePort(), gateway: await freePort() };
  const issuer = `http://127.0.0.1:${ports.idp}`;
  const gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  // Only the `limited` service's 429s are expected.
  const policy = policyOutOfReach(POLICY, join(dir, 'policy.yaml'));
  const raw = {
    server: { host: '127.0.0.1', idpPort: ports.idp, gatewayPort: ports.gateway },
    log: { level: 'warn' },
    store: { kind: 'redis', url: redis.url, keyPrefix: 'soak:' },
    idp: { issuer },
    gateway: { publicUrl: gatewayUrl },
    services: [
      { id: 'notes', name: 'Notes', upstream: upstream.url, pathPrefix: '/notes' },
      { id: 'limited', name: 'Limited', upstream: upstream.url, pathPrefix: '/limited' },
    ],
    policiesFile: policy,
    dataDir: dir,
  };
  const stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'soak:', path: ':memory:' });
  const directory = createDirectory(parseConfig(raw, {}), stores);
  await directory.createAccount({ username: 'soak', email: 'soak@example.coop', name: 'Soak', password: PASSWORD, emailVerified: true });
  const porta = await spawnPorta({ configFile: writeConfig(dir, 'soak', raw), role: 'all', env: { PORTA_LOG_LEVEL: 'warn' } });
  // Echoes would keep every request in memory; the soak only needs the count.
  upstream.seen.length = 0;

  try {
    const browser = new Browser({ accept: 'text/html' });
    const form = readForm(await browser.follow(`${gatewayUrl}/notes/start`), '/login');
    const signedIn = await browser.follow(form.action, [], { form: { ...form.fields, login: 'soak', password: PASSWORD } });
    if (signedIn.status !== 200) throw new Error(`sign-in through the gateway failed: ${signedIn.status}`);
    // The gateway session cookie, for requests made with fetch (API calls and uploads).
    const sessionCookie = browser.cookieHeader(new URL(gatewayUrl));

    const counts = { ok: 0, limited: 0, errors: 0, proxied: 0 };
    const errorSamples: string[] = [];
    const samples: Sample[] = [];
    const started = Date.now();
    const deadline = started + seconds * 1000;
    const sampler = setInterval(() => {
      heapOf(porta.url)
        .then((heap) => samples.push({ at: Date.now() - started, rss: rssOf(porta.child.pid!), heap }))
        .catch(() => undefined);
    }, 2000);

    const client = async (n: number) => {
      for (let i = 0; Date.now() < deadline; i += 1) {
        const kind = (n + i) % 10;
        try {
          let status: number;
          if (kind < 5) status = (await browser.request(`${gatewayUrl}/notes/page/${i}`)).status;
          else if (kind < 8) {
            const res = await fetch(`${gatewayUrl}/notes/api/${i}`, { headers: { cookie: sessionCookie, accept: 'application/json' } });
            await res.arrayBuffer();
            status = res.status;
          } else if (kind === 8) {
            const res = await fetch(`${gatewayUrl}/notes/upload/${i}`, { method: 'PUT', body: UPLOAD, headers: { cookie: sessionCookie } });
            await res.arrayBuffer();
            status = res.status;
          } else {
            status = (await browser.request(`${gatewayUrl}/limited/${i}`)).status;
            if (status === 429) {
              counts.limited += 1;
              continue;
            }
          }
          if (status === 200) {
            counts.ok += 1;
            counts.proxied += 1;
          } else {
            counts.errors += 1;
            if (errorSamples.length < 5) errorSamples.push(`status ${status}`);
          }
        } catch (error) {
          counts.errors += 1;
          if (errorSamples.length < 5) errorSamples.push((error as Error).message);
        }
      }
    };
    await Promise.all(Array.from({ length: 20 }, (_, n) => client(n)));
    clearInterval(sampler);
    const elapsed = (Date.now() - started) / 1000;

    // Every proxied request metered exactly once (the sign-in's final request counts too).
    await porta.stop('SIGTERM');
    const usage = await usageInLedger(stores.ledger);
    const ids = usage.ids.length;
    const requests = usage.requests; // equal requests share a record (metering/tally.ts)
    const unique = new Set(usage.ids);

    const third = Math.floor(samples.length / 3);
    const middle = samples.slice(third, 2 * third);
    const last = samples.slice(2 * third);
    const rssGrowth = mean(last.map((s) => s.rss)) / mean(middle.map((s) => s.rss));
    const heapGrowth = mean(last.map((s) => s.heap)) / mean(middle.map((s) => s.heap));
    const flat = rssGrowth < 1.15 && heapGrowth < 1.15;
    const metered = requests === counts.proxied + 1 && unique.size === ids;
    return {
      name: `soak: ${seconds} s of mixed traffic through one Porta process on Redis`,
      lines: [
        `requests: ${counts.ok + counts.limited + counts.errors} in ${elapsed.toFixed(0)} s (${((counts.ok + counts.limited) / elapsed).toFixed(0)}/s); 200: ${counts.ok}, expected 429: ${counts.limited}, errors: ${counts.errors}${errorSamples.length ? ` (${errorSamples.join('; ')})` : ''}`,
        `memory: RSS ${mib(middle[0]?.rss ?? 0)} → ${mib(last[last.length - 1]?.rss ?? 0)} (last third / middle third ${rssGrowth.toFixed(3)}); heap used ${mib(middle[0]?.heap ?? 0)} → ${mib(last[last.length - 1]?.heap ?? 0)} (${heapGrowth.toFixed(3)})`,
        `metering: ${requests} requests in ${ids} ledger records for ${counts.proxied + 1} proxied requests, ${unique.size} distinct ids`,
        `verdict: errors ${counts.errors === 0 ? 'none (PASS)' : 'FAIL'}; memory ${flat ? 'flat (PASS)' : 'growing (FAIL)'}; metering ${metered ? 'exact (PASS)' : 'FAIL'}`,
      ],
    };
  } finally {
    await porta.kill();
    await stores.close();
    await Promise.all([redis.stop(), upstream.close()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await run();
  process.stdout.write(`${result.name}\n${result.lines.map((l) => `  ${l}`).join('\n')}\n`);
}
