/**
 * Gateway benchmark (`npm run bench -- gateway`, or `node bench/gateway.ts`).
 *
 * In one run, each case driven by wrk in its own process:
 *   direct  the upstream itself (a 1 KiB answer)
 *   bare    a bare http-proxy-middleware proxy with a keep-alive agent
 *   full    the whole gateway pipeline on Redis: half the requests with a session cookie, half with a
 *           bearer JWT; real policies decide; the shared rate limit on Redis; every request metered
 *           through metering's recorder (`tally()`, as `porta start` does) into the Redis ledger
 * and, for forward-auth: nginx `auth_request` to the gateway vs nginx `auth_request` to a trivial
 * Node endpoint answering 204.
 *
 * As reference/performance.md describes, the server under test is pinned to core 0 and wrk, the
 * upstream and Redis to core 1 (when `taskset` exists). Rounds interleave the cases and ratios are
 * taken per round (the machine drifts by ±25 % minute to minute); each round takes the next of
 * `BENCH_PROCESSES` pairs of proxy processes. Both loads alternate the two proxies in one-second
 * slices (the first side alternating by round). Saturation: `wrk -t1 -c50`. Moderate load, for
 * p50/p99 (from the slices' merged latency histograms): a fixed rate (`BENCH_RATE`, default 1000
 * requests/s, a fifth or less of what either proxy serves at saturation here) offered by 8 wrk
 * connections that each wait a random time before every request (wrk's Lua `delay()`: wrk has no
 * fixed-rate option). Not a closed loop with few connections: a single-threaded proxy is saturated
 * by as few as 4 connections that each send again as soon as they are answered, so such a "moderate"
 * p99 measures queueing at 100 % CPU, not latency at moderate load.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NODE_FLAGS } from '../cli/node-flags.ts';

const SELF = fileURLToPath(import.meta.url);
const DURATION = process.env.BENCH_SECONDS ?? '5';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
/**
 * Processes of each proxy, taken in turn by the rounds: a run then samples several processes, not
 * one. A/B runs of two gateway configurations gave contradictory answers with the sides swapped
 * (metering off/on 0.81 one way, 0.99 the other), and with the same configuration on both sides the
 * second-started process had the worse p99 in 8 of 10 rounds (throughput alike: 0.98, 0.99).
 */
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 3);
const RATE = Number(process.env.BENCH_RATE ?? 1000);
const PACED_CONNECTIONS = 8;
const BODY = Buffer.alloc(1024, 0x61);

const hasTaskset = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return cpus().length >= 2;
  } catch {
    return false;
  }
})();

/** Runs a command pinned to a core (when possible). */
function pinned(core: number, command: string, args: string[]): ChildProcess {
  return hasTaskset ? spawn('taskset', ['-c', String(core), command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

const logs = new Map<ChildProcess, string>();
/** Processes started per role (their logs are `<role>.log`, `<role>-2.log`, …). */
const started = new Map<string, number>();

/** Starts `node bench/gateway.ts serve <role> <json>` and waits for its "ready <port>". */
async function serve(core: number, role: string, options: Record<string, unknown>): Promise<{ url: string; child: ChildProcess }> {
  // BENCH_PROF=<dir> writes a CPU profile of the full pipeline's process there (node --cpu-prof);
  // BENCH_PROF_BARE=1 profiles the bare proxy too, for a differential profile.
  const proxy = role === 'full' || role === 'bare';
  const profiled = role === 'full' || (role === 'bare' && process.env.BENCH_PROF_BARE === '1');
  const profile = process.env.BENCH_PROF && profiled ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [];
  // Both proxies run with the flags every Porta process gets (cli/node-flags.ts, as `npm start` passes
  // them), and BENCH_NODE_FLAGS adds more (e.g. `--trace-gc` to see collector pauses).
  const flags = proxy ? [...NODE_FLAGS, ...(process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean)] : [];
  const child = pinned(core, process.execPath, [...flags, ...profile, SELF, 'serve', role, JSON.stringify(options)]);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  // BENCH_LOG_DIR=<dir> keeps each proxy's output there (<role>.log), with a line marking each wrk run.
  const nth = (started.get(role) ?? 0) + 1;
  started.set(role, nth);
  const log = process.env.BENCH_LOG_DIR ? join(process.env.BENCH_LOG_DIR, nth === 1 ? `${role}.log` : `${role}-${nth}.log`) : undefined;
  if (log) logs.set(child, log);
  const port = await new Promise<number>((resolve, reject) => {
    let out: string | undefined = '';
    child.stdout!.on('data', (c: Buffer) => {
      if (log) appendFileSync(log, c);
      if (out === undefined) return;
      out += c.toString();
      const m = /ready (\d+)/.exec(out);
      if (m) {
        resolve(Number(m[1]));
        out = undefined;
      }
    });
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}: ${stderr}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

interface WrkResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  /** CPU microseconds per request spent by the server under test (when its pid is given). */
  cpuUsPerRequest?: number;
  /** Latency µs → requests, when the script prints wrk's histogram (`HIST <µs> <count>` lines, the paced script). */
  histogram?: Map<number, number>;
}

/** User + system CPU time of a process, in ms (Linux /proc; 100 ticks a second). */
function cpuMs(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}

/** CPU ms per thread kind (main, V8 workers, libuv pool; user/sys) of a child, for BENCH_LOG_DIR. */
function threadTimes(child: ChildProcess): string {
  const totals = new Map<string, [number, number]>();
  try {
    for (const task of readdirSync(`/proc/${child.pid}/task`)) {
      const stat = readFileSync(`/proc/${child.pid}/task/${task}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const t = totals.get(name) ?? [0, 0];
      t[0] += Number(fields[11]) * 10;
      t[1] += Number(fields[12]) * 10;
      totals.set(name, t);
    }
  } catch {
    return `${child.pid}: gone`;
  }
  return `${child.spawnargs.find((a) => ['full', 'bare', 'upstream', 'idp', 'auth204'].includes(a)) ?? child.pid}: ${[...totals].map(([name, [u, s]]) => `${name} user ${u} sys ${s}`).join(', ')}`;
}

function toMs(value: string): number {
  const m = /([\d.]+)(us|ms|s)/.exec(value);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'us' ? n / 1000 : m[2] === 's' ? n * 1000 : n;
}

async function wrk(url: string, connections: number, script?: string, server?: ChildProcess, seconds: string = DURATION): Promise<WrkResult> {
  const cpuBefore = cpuMs(server?.pid);
  for (const log of logs.values()) appendFileSync(log, `--- wrk -c${connections} ${url} at ${new Date().toISOString()}\n`);
  const args = ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', ...(script ? ['-s', script] : []), url];
  const child = pinned(1, '/usr/bin/wrk', args);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  await new Promise((resolve) => child.once('exit', resolve));
  const cpuAfter = cpuMs(server?.pid);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? '');
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? '');
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1];
  if (non2xx) throw new Error(`wrk saw ${non2xx} error answers from ${url}:\n${out}`);
  if (!Number.isFinite(rps)) throw new Error(`wrk output not understood:\n${out}`);
  const cpuUsPerRequest = cpuBefore !== undefined && cpuAfter !== undefined && requests > 0 ? ((cpuAfter - cpuBefore) * 1000) / requests : undefined;
  let histogram: Map<number, number> | undefined;
  for (const [, value, count] of out.matchAll(/^HIST (\d+) (\d+)$/gm)) {
    histogram ??= new Map();
    histogram.set(Number(value), (histogram.get(Number(value)) ?? 0) + Number(count));
  }
  return { rps, p50, p99, requests, cpuUsPerRequest, histogram };
}

/** The latency (ms) under which a share `q` of the requests of a histogram (µs → count) were answered. */
function percentileMs(histogram: Map<number, number>, q: number): number {
  const values = [...histogram.keys()].sort((a, b) => a - b);
  const total = values.reduce((n, v) => n + histogram.get(v)!, 0);
  let seen = 0;
  for (const value of values) {
    seen += histogram.get(value)!;
    if (seen >= q * total) return value / 1000;
  }
  return NaN;
}

type Target = { url: string; child: ChildProcess };

/**
 * Both proxies under the same load in short alternating slices (bare, full, full, bare, … or the
 * other way round: `BENCH_SLICES` of `BENCH_SLICE_SECONDS` (1) each, as long in all as one case)
 * rather than one long run each: this VM's speed drifts in bursts of a few seconds, and a burst that
 * fell on one proxy's whole run decided the round (saturation ratios ranged 0.5–1.1 on unchanged
 * code; the bare proxy's own moderate-load p99 moved 1–25 ms between rounds). Requests and CPU are
 * summed over the slices; latencies, when the script prints wrk's histogram, merged exactly.
 * `whole`: one run per proxy instead (`BENCH_MODERATE=whole`, the p99 method before the fifth session).
 */
async function alternating(bare: Target, full: Target, load: { connections: number; script: string; bareFirst: boolean; whole?: boolean }): Promise<{ bare: WrkResult; full: WrkResult }> {
  const sliceSeconds = load.whole ? DURATION : (process.env.BENCH_SLICE_SECONDS ?? '1');
  const slices = load.whole ? 1 : Number(process.env.BENCH_SLICES ?? Math.max(2, Math.round(Number(DURATION) / Number(sliceSeconds))));
  const totals = new Map<string, { requests: number; cpuUs: number; seconds: number; cpuKnown: boolean; histogram?: Map<number, number> }>();
  for (let i = 0; i < slices; i++) {
    const firstBare = i % 2 === 0 ? load.bareFirst : !load.bareFirst;
    for (const target of firstBare ? [bare, full] : [full, bare]) {
      const result = await wrk(`${target.url}/app/page`, load.connections, load.script, target.child, sliceSeconds);
      const total = totals.get(target.url) ?? { requests: 0, cpuUs: 0, seconds: 0, cpuKnown: true };
      total.requests += result.requests;
      total.seconds += Number(sliceSeconds);
      if (result.cpuUsPerRequest === undefined) total.cpuKnown = false;
      else total.cpuUs += result.cpuUsPerRequest * result.requests;
      if (result.histogram) {
        const merged = (total.histogram ??= new Map<number, number>());
        for (const [value, count] of result.histogram) merged.set(value, (merged.get(value) ?? 0) + count);
      }
      totals.set(target.url, total);
    }
  }
  const summary = (url: string): WrkResult => {
    const t = totals.get(url)!;
    const latency = (q: number) => (t.histogram ? percentileMs(t.histogram, q) : NaN);
    if (t.histogram && process.env.BENCH_QUANTILES) process.stderr.write(`${url} ${[0.5, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999].map((q) => `${q}:${latency(q).toFixed(2)}`).join(' ')}\n`);
    return { rps: t.requests / t.seconds, p50: latency(0.5), p99: latency(0.99), requests: t.requests, cpuUsPerRequest: t.cpuKnown ? t.cpuUs / t.requests : undefined };
  };
  return { bare: summary(bare.url), full: summary(full.url) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number, digits = 0) => n.toFixed(digits);

export async function run(): Promise<{ name: string; lines: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'porta-bench-gw-'));
  const children: ChildProcess[] = [];
  const { startRedis } = await import('../test/helpers/redis-server.ts');
  const redis = await startRedis();
  if (hasTaskset) {
    try {
      const pid = execFileSync('sh', ['-c', `pgrep -f "redis-server.*:${redis.port}" | head -1`]).toString().trim();
      if (pid) execFileSync('taskset', ['-pc', '1', pid]);
    } catch {
      // not pinned: fine
    }
  }
  try {
    const { SignJWT, generateKeyPair, exportJWK } = await import('jose');
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };

    const upstream = await serve(1, 'upstream', {});
    children.push(upstream.child);
    const idp = await serve(1, 'idp', { jwk });
    children.push(idp.child);
    const bares: Array<{ url: string; child: ChildProcess }> = [];
    const fulls: Array<{ url: string; child: ChildProcess }> = [];
    for (let i = 0; i < PROCESSES; i++) {
      // BENCH_BASELINE=full:<meter> puts a second full pipeline, with BENCH_METER=<meter>, where the bare
      // proxy would be: an A/B of two gateways in one run (swap the sides in a second run: see PROCESSES).
      const baseline = process.env.BENCH_BASELINE;
      bares.push(
        baseline?.startsWith('full:')
          ? await serve(0, 'full', { upstream: upstream.url, issuer: idp.url, redis: redis.url, journal: join(dir, `journal-baseline-${i}`), meter: baseline.slice(5) })
          : await serve(0, 'bare', { upstream: upstream.url }),
      );
      fulls.push(await serve(0, 'full', { upstream: upstream.url, issuer: idp.url, redis: redis.url, journal: join(dir, `journal-${i}`) }));
      children.push(bares[i].child, fulls[i].child);
    }
    const full = fulls[0];

    // A session (made through the gateway's own session store on the same Redis) and a bearer token.
    const { createStores } = await import('../store/index.ts');
    const { createSessionStore } = await import('../gateway/session/session-store.ts');
    const { silentLogger } = await import('../kernel/logger.ts');
    const stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'bench:', path: ':memory:' });
    const sessions = await createSessionStore({ kv: stores.kv, broadcast: stores.broadcast, clock: { now: Date.now }, logger: silentLogger, idleSeconds: 3600, maxSeconds: 7200, cacheSeconds: 2 });
    const cookie = await sessions.create({ subject: 'bench-session', claims: { sub: 'bench-session', email: 's@example.coop', preferred_username: 'session' } });
    await sessions.close();
    await stores.close();
    const token = await new SignJWT({ sub: 'bench-bearer', email: 'b@example.coop' })
      .setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' })
      .setIssuer(idp.url)
      .setAudience([...fulls, ...bares].map((f) => f.url))
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(privateKey);
    const script = join(dir, 'mixed.lua');
    const requests = `local n = 0
request = function()
  n = n + 1
  if n % 2 == 0 then
    return wrk.format("GET", "/app/page", { ["Cookie"] = "porta_session=${cookie}", ["Accept"] = "application/json" })
  end
  return wrk.format("GET", "/app/page", { ["Authorization"] = "Bearer ${token}" })
end
`;
    writeFileSync(script, requests);
    // The same requests at a fixed rate: each connection waits a uniform random 0..2×mean ms before
    // each request, so the connections together offer RATE requests/s (less the answer times).
    const paced = join(dir, 'paced.lua');
    const meanDelayMs = (PACED_CONNECTIONS * 1000) / RATE;
    // done() prints wrk's latency histogram (µs, count) so that slices can be merged exactly.
    const printHistogram = 'done = function(summary, latency, requests)\n  for i = 1, #latency do\n    local value, count = latency(i)\n    io.write(string.format("HIST %d %d\\n", value, count))\n  end\nend\n';
    writeFileSync(paced, `${requests}\ndelay = function()\n  return math.random() * ${2 * meanDelayMs}\nend\n${printHistogram}`);

    // Warm up (JIT, JWKS fetch, caches, keep-alive pools).
    for (let i = 0; i < PROCESSES; i++) {
      await wrk(`${fulls[i].url}/app/page`, 4, script);
      await wrk(`${bares[i].url}/app/page`, 4, script);
    }

    const ratioRps: number[] = [];
    const ratioP99: number[] = [];
    const ratioCpu: number[] = [];
    const ratioCpuModerate: number[] = [];
    const table: string[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      // Every case gets the same wrk script (the headers mean nothing to the others), so the load
      // generator does the same work in each.
      const bare = bares[(r - 1) % PROCESSES];
      const full = fulls[(r - 1) % PROCESSES];
      const direct = await wrk(`${upstream.url}/app/page`, 50, script);
      const { bare: bareSat, full: fullSat } = await alternating(bare, full, { connections: 50, script, bareFirst: true });
      // Which proxy takes the moderate load first alternates by round, so that neither always runs in
      // the machine's state after the other (it moves within seconds here).
      const bareFirst = r % 2 === 1;
      const { bare: bareMod, full: fullMod } = await alternating(bare, full, { connections: PACED_CONNECTIONS, script: paced, bareFirst, whole: process.env.BENCH_MODERATE === 'whole' });
      if (Number.isNaN(bareMod.p99) || Number.isNaN(fullMod.p99)) throw new Error('the paced wrk script printed no latency histogram');
      ratioRps.push(fullSat.rps / bareSat.rps);
      if (bareSat.cpuUsPerRequest && fullSat.cpuUsPerRequest) ratioCpu.push(fullSat.cpuUsPerRequest / bareSat.cpuUsPerRequest);
      ratioP99.push(fullMod.p99 / bareMod.p99);
      if (bareMod.cpuUsPerRequest && fullMod.cpuUsPerRequest) ratioCpuModerate.push(fullMod.cpuUsPerRequest / bareMod.cpuUsPerRequest);
      table.push(
        `round ${r} (pair ${((r - 1) % PROCESSES) + 1}): req/s direct ${fmt(direct.rps)}, bare ${fmt(bareSat.rps)}, full ${fmt(fullSat.rps)} (full/bare ${fmt(fullSat.rps / bareSat.rps, 2)}, bare/direct ${fmt(bareSat.rps / direct.rps, 2)}); ` +
          `CPU µs/request bare ${fmt(bareSat.cpuUsPerRequest ?? NaN)}, full ${fmt(fullSat.cpuUsPerRequest ?? NaN)}; ` +
          `at ${fmt(bareMod.rps)}/${fmt(fullMod.rps)} req/s (${bareFirst ? 'bare' : 'full'} first) p50/p99 ms bare ${fmt(bareMod.p50, 2)}/${fmt(bareMod.p99, 2)}, full ${fmt(fullMod.p50, 2)}/${fmt(fullMod.p99, 2)} ` +
          `(CPU µs/request bare ${fmt(bareMod.cpuUsPerRequest ?? NaN)}, full ${fmt(fullMod.cpuUsPerRequest ?? NaN)})`,
      );
    }

    // Forward-auth: nginx auth_request → gateway vs nginx auth_request → trivial 204 endpoint.
    const { startNginx } = await import('../test/gateway/helpers/nginx.ts');
    const trivial = await serve(0, 'auth204', {});
    children.push(trivial.child);
    // Both nginx keep their connections open (`upstream` blocks with `keepalive`, as docs/gateway.md
    // says to): without it nginx opens a connection per auth subrequest, and that is what is measured.
    const authConfig = (auth: string) => {
      const target = new URL(auth);
      return {
        http: `upstream auth_backend { server ${target.host}; keepalive 32; }\n  upstream app_backend { server ${new URL(upstream.url).host}; keepalive 32; }`,
        server: `
    location = /_auth { internal; proxy_pass http://auth_backend${target.pathname}; proxy_pass_request_body off; proxy_set_header Content-Length ""; proxy_set_header X-Original-URI $request_uri; proxy_set_header X-Original-Method $request_method; proxy_set_header X-Forwarded-Host $host; proxy_http_version 1.1; proxy_set_header Connection ""; }
    location / { auth_request /_auth; auth_request_set $u $upstream_http_x_forwarded_user; proxy_set_header X-Forwarded-User $u; proxy_pass http://app_backend; proxy_http_version 1.1; proxy_set_header Connection ""; }`,
      };
    };
    const gatewayConfig = authConfig(`${full.url}/_porta/auth`);
    const trivialConfig = authConfig(`${trivial.url}/`);
    const nginxGateway = await startNginx(gatewayConfig.server, { http: gatewayConfig.http });
    const nginxTrivial = await startNginx(trivialConfig.server, { http: trivialConfig.http });
    const faLines: string[] = [];
    try {
      const tokenFa = await new SignJWT({ sub: 'bench-fa' }).setProtectedHeader({ alg: 'ES256', kid: 'bench', typ: 'at+jwt' }).setIssuer(idp.url).setAudience(full.url).setIssuedAt().setExpirationTime('1h').sign(privateKey);
      const faScript = join(dir, 'fa.lua');
      writeFileSync(faScript, `wrk.headers["Authorization"] = "Bearer ${tokenFa}"\n`);
      await wrk(`${nginxGateway.url}/app/page`, 4, faScript);
      const viaGateway = await wrk(`${nginxGateway.url}/app/page`, 50, faScript);
      const viaTrivial = await wrk(`${nginxTrivial.url}/app/page`, 50, faScript);
      faLines.push(`forward-auth req/s: nginx+gateway ${fmt(viaGateway.rps)}, nginx+trivial 204 ${fmt(viaTrivial.rps)} (ratio ${fmt(viaGateway.rps / viaTrivial.rps, 2)}; p99 ms ${fmt(viaGateway.p99, 2)} vs ${fmt(viaTrivial.p99, 2)})`);
    } finally {
      await nginxGateway.stop();
      await nginxTrivial.stop();
    }

    const rpsRatio = median(ratioRps);
    const p99Ratio = median(ratioP99);
    return {
      name: `gateway: full pipeline vs bare http-proxy-middleware vs direct (wrk -t1, ${DURATION}s per case, ${ROUNDS} rounds over ${PROCESSES} process pairs${hasTaskset ? ', proxy on core 0, load and upstream on core 1' : ', not pinned'})`,
      lines: [
        ...table,
        `median full/bare req/s at saturation (c50): ${fmt(rpsRatio, 2)} (target ≥ 0.80: ${rpsRatio >= 0.8 ? 'met' : 'NOT met'})`,
        `median bare/full CPU per request: ${ratioCpu.length ? fmt(1 / median(ratioCpu), 2) : 'n/a'} (the req/s ratio the proxy's core would allow if it were not shared)`,
        `median full/bare p99 at a fixed moderate load (${RATE} req/s): ${fmt(p99Ratio, 2)} (target ≤ 1.50: ${p99Ratio <= 1.5 ? 'met' : 'NOT met'})`,
        `median full/bare CPU per request at that load: ${ratioCpuModerate.length ? fmt(median(ratioCpuModerate), 2) : 'n/a'} (a busier core queues more: the p99 follows it)`,
        ...faLines,
      ],
    };
  } finally {
    if (process.env.BENCH_LOG_DIR) writeFileSync(join(process.env.BENCH_LOG_DIR, 'threads.txt'), children.map(threadTimes).join('\n'));
    for (const child of children) child.kill('SIGTERM');
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ledger appends of line batches over a raw RESP socket (bench variant `BENCH_METER=rawsocket`). */
async function rawLedgerAppend(redisUrl: string): Promise<(stream: string, batch: import('../store/types.ts').LedgerBatch) => Promise<number>> {
  const net = await import('node:net');
  const { LUA } = await import('../store/redis/scripts.ts');
  const { RedisKeys } = await import('../store/redis/keys.ts');
  const url = new URL(redisUrl);
  const socket = net.connect(Number(url.port), url.hostname);
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const waiting: Array<(reply: string) => void> = [];
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('latin1');
    let end: number;
    while ((end = buffered.indexOf('\r\n')) !== -1) {
      const line = buffered.slice(0, end);
      if (line.startsWith('$')) {
        const length = Number(line.slice(1));
        if (buffered.length < end + 2 + length + 2) break;
        waiting.shift()?.(buffered.slice(end + 2, end + 2 + length));
        buffered = buffered.slice(end + 2 + length + 2);
      } else {
        waiting.shift()?.(line);
        buffered = buffered.slice(end + 2);
      }
    }
  });
  const command = (args: Array<string | Buffer>): Promise<string> => {
    const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const bytes = typeof arg === 'string' ? Buffer.from(arg) : arg;
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from('\r\n'));
    }
    socket.write(Buffer.concat(parts));
    return new Promise((resolve) => waiting.push(resolve));
  };
  const sha = await command(['SCRIPT', 'LOAD', LUA.portaLedgerAppend.lua]);
  const keys = new RedisKeys('bench:');
  return async (stream, batch) => {
    if (!('count' in batch)) throw new Error('rawsocket ledger takes line batches only');
    const k = keys.ledger(stream);
    const reply = await command(['EVALSHA', sha, '4', k.data, k.time, k.log, k.seq, batch.lines]);
    if (!reply.startsWith(':')) throw new Error(`ledger append failed: ${reply}`);
    return Number(reply.slice(1));
  };
}

// ---- the server processes (this same file, run with `serve <role> <json>`) ----

async function serveRole(role: string, options: Record<string, string & Record<string, unknown>>): Promise<void> {
  let handler: http.RequestListener;
  let onUpgrade: ((req: http.IncomingMessage, socket: import('node:net').Socket, head: Buffer) => void) | undefined;
  switch (role) {
    case 'upstream':
      handler = (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
        res.end(BODY);
      };
      break;
    case 'auth204':
      handler = (_req, res) => {
        res.writeHead(204, { 'x-forwarded-user': 'someone' });
        res.end();
      };
      break;
    case 'idp': {
      const jwks = JSON.stringify({ keys: [options.jwk] });
      let self = '';
      handler = (req, res) => {
        if (req.url === '/.well-known/openid-configuration') {
          const body = JSON.stringify({ issuer: self, jwks_uri: `${self}/jwks`, authorization_endpoint: `${self}/auth`, token_endpoint: `${self}/token`, response_types_supported: ['code'] });
          res.writeHead(200, { 'content-type': 'application/json' }).end(body);
        } else res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
      };
      const server = http.createServer(handler);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      self = `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`;
      process.stdout.write(`ready ${(server.address() as import('node:net').AddressInfo).port}\n`);
      return;
    }
    case 'bare': {
      const { createProxyMiddleware } = await import('http-proxy-middleware');
      const proxy = createProxyMiddleware({ target: options.upstream, agent: new http.Agent({ keepAlive: true, maxSockets: 256 }) });
      handler = (req, res) => void proxy(req, res);
      break;
    }
    case 'full': {
      const { parseConfig } = await import('../config/load.ts');
      const { createStores } = await import('../store/index.ts');
      const { createGateway } = await import('./../gateway/index.ts');
      const { loadPolicyFile } = await import('../policies/load.ts');
      const { decide } = await import('../policies/decide.ts');
      const { identityFor, TEST_POLICY } = await import('../test/gateway/helpers/harness.ts');
      const { createUsageRecorder } = await import('../metering/recorder.ts');
      const { openJournal } = await import('../metering/journal.ts');
      const { silentLogger } = await import('../kernel/logger.ts');
      const { systemClock } = await import('../kernel/clock.ts');
      const { freePort } = await import('../test/helpers/ports.ts');
      const port = await freePort();
      const config = parseConfig({
        idp: { issuer: options.issuer },
        store: { kind: 'redis', url: options.redis, keyPrefix: 'bench:' },
        gateway: { publicUrl: `http://127.0.0.1:${port}`, clientSecret: 'bench-secret-0123456789' },
        services: [{ id: 'app', name: 'App', upstream: options.upstream, pathPrefix: '/' }],
      });
      const stores = await createStores(config.store);
      const { policyOutOfReach } = await import('./policy-out-of-reach.ts');
      const benchPolicy = policyOutOfReach(TEST_POLICY, join(dirname(options.journal as string), `policy-${process.pid}.yaml`));
      const policy = loadPolicyFile(benchPolicy).compiled;
      // BENCH_METER=noledger: the recorder and its journal as usual, a ledger that takes every batch at once.
      // BENCH_METER=delay:<ms>: that ledger, answering after <ms>.
      // BENCH_METER=rawsocket: the Redis ledger's own append script, sent over a plain socket with RESP
      // written by hand instead of through ioredis (to tell the client's cost from Redis's).
      const meter = typeof options.meter === 'string' ? options.meter : (process.env.BENCH_METER ?? '');
      const delayMs = meter.startsWith('delay:') ? Number(meter.slice(6)) : undefined;
      const ledger: import('../store/types.ts').Ledger =
        meter === 'rawsocket'
          ? { ...stores.ledger, append: await rawLedgerAppend(options.redis) }
          : meter === 'noledger' || delayMs !== undefined
          ? {
              ...stores.ledger,
              append: (_stream: string, batch: import('../store/types.ts').LedgerBatch) => {
                const n = 'count' in batch ? batch.count : batch.length;
                return new Promise<number>((resolve) => (delayMs ? setTimeout(() => resolve(n), delayMs) : resolve(n)));
              },
            }
          : stores.ledger;
      // BENCH_METER=tally:<ms>: requests counted together for <ms> instead of the default window.
      const tallyWindowMs = meter.startsWith('tally:') ? Number(meter.slice(6)) : undefined;
      const recorder = createUsageRecorder({ ledger, journal: openJournal(options.journal, silentLogger), clock: systemClock, logger: silentLogger, flushIntervalMs: 100, flushBatchSize: 500, bufferLimit: 50000, tallyWindowMs });
      const gateway = await createGateway({
        config,
        stores,
        decide: (identity: ReturnType<typeof identityFor>, service, request) => decide(policy, identity, { id: service.id, name: service.name }, request),
        identityOf: async (claims) => identityFor(claims),
        // BENCH_METER=off: records are made and dropped (what the pipeline costs without metering).
        // BENCH_METER=record: a ledger line per request (recorder.record), as before requests were tallied.
        recordUsage: meter === 'off' ? () => true : meter === 'record' ? (record) => recorder.record(record) : (record) => recorder.tally(record),
        logger: silentLogger,
      });
      // BENCH_HEAP_SAMPLE=<seconds>: sample the allocations that survive minor GCs (promoted), write
      // <BENCH_LOG_DIR>/promoted.heapprofile after that many seconds.
      if (process.env.BENCH_HEAP_SAMPLE && process.env.BENCH_LOG_DIR) {
        const inspector = await import('node:inspector/promises');
        const session = new inspector.Session();
        session.connect();
        await session.post('HeapProfiler.startSampling', { samplingInterval: 8192, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: false });
        setTimeout(async () => {
          const { profile } = await session.post('HeapProfiler.stopSampling');
          writeFileSync(join(process.env.BENCH_LOG_DIR!, 'promoted.heapprofile'), JSON.stringify(profile));
        }, Number(process.env.BENCH_HEAP_SAMPLE) * 1000);
      }
      // With BENCH_LOG_DIR, the metering backlog once a second (records accepted, not yet in the ledger).
      // and the event loop's delay (p99 / max ms) over that second.
      if (process.env.BENCH_LOG_DIR) {
        const { monitorEventLoopDelay } = await import('node:perf_hooks');
        const delay = monitorEventLoopDelay({ resolution: 1 });
        delay.enable();
        setInterval(() => {
          process.stdout.write(`pending ${recorder.stats().pending} written ${recorder.stats().written} loop delay p99/max ms ${(delay.percentile(99) / 1e6).toFixed(1)}/${(delay.max / 1e6).toFixed(1)}\n`);
          delay.reset();
        }, 1000).unref();
      }
      const server = http.createServer(gateway.handle);
      server.on('upgrade', gateway.upgrade);
      server.keepAliveTimeout = 65_000;
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
      process.stdout.write(`ready ${port}\n`);
      return;
    }
    default:
      throw new Error(`unknown role ${role}`);
  }
  const server = http.createServer(handler);
  server.keepAliveTimeout = 65_000;
  if (onUpgrade) server.on('upgrade', onUpgrade);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.stdout.write(`ready ${(server.address() as import('node:net').AddressInfo).port}\n`);
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  if (process.argv[2] === 'serve') {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => process.exit(0));
    await serveRole(process.argv[3], JSON.parse(process.argv[4] ?? '{}'));
  } else {
    const result = await run();
    process.stdout.write(`${result.name}\n${result.lines.map((l) => `  ${l}`).join('\n')}\n`);
    process.exit(0);
  }
}
