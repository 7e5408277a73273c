/**
 * Faults, each with real processes: a Porta process (`porta start`) on a real redis-server and a
 * real slapd, with Redis or LDAP stopped under it, SIGTERM under load, and hostile clients.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';
import { freePort } from '../helpers/ports.ts';
import { spawnPorta, writeConfig, type PortaProcess } from '../helpers/processes.ts';
import { startEchoUpstream, type EchoUpstream } from '../gateway/helpers/echo-upstream.ts';
import { Browser, readForm, type Page } from '../idp/helpers/browser.ts';
import { parseConfig } from '../../config/load.ts';
import { createDirectory } from '../../directory/index.ts';
import { usageInLedger } from '../helpers/usage-ledger.ts';
import { createStores } from '../../store/index.ts';

const POLICY = fileURLToPath(new URL('../fixtures/ops/policy.yaml', import.meta.url));
const PASSWORD = 'correct horse battery staple';
const PREFIX = 'faults:';

let redis: RedisServer;
let slapd: Slapd;
let upstream: EchoUpstream;
let dir: string;
let porta: PortaProcess;
let ports: { idp: number; gateway: number };
let idpUrl: string;
let gatewayUrl: string;
let closedPort: number;

function config(name: string): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', idpPort: ports.idp, gatewayPort: ports.gateway, shutdownTimeoutMs: 8000 },
    store: { kind: 'redis', url: redis.url, keyPrefix: PREFIX },
    directory: { kind: 'ldap', ldap: { url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix, timeoutMs: 1500 } },
    idp: { issuer: idpUrl },
    gateway: { publicUrl: gatewayUrl, headersTimeoutMs: 2000, maxHeaderBytes: 8192 },
    services: [
      { id: 'notes', name: 'Notes', upstream: upstream.url, pathPrefix: '/notes' },
      { id: 'limited', name: 'Limited', upstream: upstream.url, pathPrefix: '/limited' },
      { id: 'stuck', name: 'Stuck', upstream: upstream.url, pathPrefix: '/stuck', timeoutMs: 1000 },
      { id: 'gone', name: 'Gone', upstream: `http://127.0.0.1:${closedPort}`, pathPrefix: '/gone' },
    ],
    policiesFile: POLICY,
    dataDir: join(dir, name),
    // A slow flush, so that records made just before Redis stops are still waiting when it does.
    metering: { journalPath: join(dir, name, 'journal'), flushIntervalMs: 1500 },
  };
}

async function startPortaProcess(name: string): Promise<PortaProcess> {
  return spawnPorta({ configFile: writeConfig(dir, name, config(name)), role: 'all' });
}

async function signIn(browser: Browser, path = '/notes/start'): Promise<Page> {
  const loginPage = await browser.follow(`${gatewayUrl}${path}`);
  const form = readForm(loginPage, '/login');
  return browser.follow(form.action, [], { form: { ...form.fields, login: 'alice', password: PASSWORD } });
}

async function eventually<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  let value = await probe();
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    value = await probe();
  }
  return value;
}

beforeAll(async () => {
  [redis, slapd, upstream] = await Promise.all([startRedis(), startSlapd(), startEchoUpstream()]);
  dir = mkdtempSync(join(tmpdir(), 'porta-faults-'));
  ports = { idp: await freePort(), gateway: await freePort() };
  closedPort = await freePort(); // nothing listens there: an upstream that is down
  idpUrl = `http://127.0.0.1:${ports.idp}`;
  gatewayUrl = `http://127.0.0.1:${ports.gateway}`;
  const seed = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'x' });
  const directory = createDirectory(parseConfig(config('seed'), {}), seed);
  await directory.createAccount({ username: 'alice', email: 'alice@example.coop', name: 'Alice', password: PASSWORD, emailVerified: true });
  await directory.close();
  await seed.close();
  porta = await startPortaProcess('one');
}, 60000);

afterAll(async () => {
  await porta?.kill();
  await Promise.all([redis?.stop(), slapd?.stop(), upstream?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Redis stopped under traffic', () => {
  it('answers 503 quickly, lets nobody through, journals usage and replays it exactly once when Redis is back', async () => {
    const browser = new Browser({ accept: 'text/html' });
    expect((await signIn(browser)).status).toBe(200);
    const reached = upstream.seen.length;
    for (let i = 0; i < 5; i += 1) expect((await browser.request(`${gatewayUrl}/notes/${i}`)).status).toBe(200);
    const proxiedBeforeOutage = upstream.seen.length - reached + 1; // + the sign-in's final request

    // Stop Redis keeping its data (as a restart of a persistent Redis would), while records still wait to be flushed.
    const admin = new Redis(redis.url, { retryStrategy: () => null, maxRetriesPerRequest: 0 });
    await admin.call('SHUTDOWN', 'SAVE').catch(() => undefined);
    admin.disconnect();
    // Porta learns that Redis is gone when its connections close, a few milliseconds later: wait for
    // its readiness to say so (a request racing that moment is served from the session cache).
    const notReady = await eventually(() => fetch(`${gatewayUrl}/readyz`).then((r) => r.status), (status) => status === 503, 5000);
    expect(notReady).toBe(503);

    const seenDuringOutage = upstream.seen.length;
    // A session cannot be checked (nor its logout heard of): 503, quickly, with a clear message.
    let started = Date.now();
    const withSession = await browser.request(`${gatewayUrl}/notes/during`);
    expect(withSession.status).toBe(503);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(withSession.body).toMatch(/unavailable|try again/i);
    // No credentials at all needs no store to refuse.
    started = Date.now();
    const anonymous = await new Browser({ accept: 'application/json' }).request(`${gatewayUrl}/notes/anonymous`);
    expect([401, 503]).toContain(anonymous.status);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(upstream.seen.length).toBe(seenDuringOutage);

    await new Promise((r) => setTimeout(r, 2500)); // a flush fails meanwhile: the batch goes to the journal
    await redis.restart();

    // Recovered without a restart of Porta: the same session works again.
    const back = await eventually(() => browser.request(`${gatewayUrl}/notes/after`), (p) => p.status === 200, 15000);
    expect(back.status).toBe(200);

    const stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: PREFIX, path: ':memory:' });
    try {
      const usage = await eventually(() => usageInLedger(stores.ledger), (found) => found.requests >= proxiedBeforeOutage + 1, 15000);
      expect(new Set(usage.ids).size).toBe(usage.ids.length); // no record written twice
      expect(usage.requests).toBe(proxiedBeforeOutage + 1); // none lost, none counted twice: every proxied request, plus the one after
    } finally {
      await stores.close();
    }
  }, 60000);
});

describe('LDAP stopped', () => {
  it('login says the directory is unavailable (503), while an existing session keeps working', async () => {
    const browser = new Browser({ accept: 'text/html' });
    expect((await signIn(browser)).status).toBe(200);
    await slapd.halt();
    try {
      const stranger = new Browser({ accept: 'text/html' });
      const loginPage = await stranger.follow(`${gatewayUrl}/notes/x`);
      const form = readForm(loginPage, '/login');
      const refused = await stranger.request(form.action, { form: { ...form.fields, login: 'alice', password: PASSWORD } });
      expect(refused.status).toBe(503);
      expect(refused.body).toMatch(/directory/i);
      expect((await browser.request(`${gatewayUrl}/notes/still-working`)).status).toBe(200);
    } finally {
      await slapd.restart();
    }
  }, 60000);
});

describe('an upstream down or slow', () => {
  it('answers 502 at once and 504 at the configured timeout, and other services are unaffected', async () => {
    const signedIn = new Browser({ accept: 'text/html' });
    expect((await signIn(signedIn)).status).toBe(200);
    const timed = async (path: string) => {
      const started = Date.now();
      const page = await signedIn.request(`${gatewayUrl}${path}`);
      return { status: page.status, ms: Date.now() - started, body: page.body };
    };
    // The echo upstream answers /…/slow after 2 s; the `stuck` service gives up after 1 s.
    const stuck = Array.from({ length: 10 }, () => timed('/stuck/slow'));
    await new Promise((r) => setTimeout(r, 100));
    const healthy = await timed('/notes/meanwhile');
    expect(healthy.status).toBe(200);
    expect(healthy.ms).toBeLessThan(800);
    for (const result of await Promise.all(stuck)) {
      expect(result.status).toBe(504);
      expect(result.ms).toBeGreaterThanOrEqual(900);
      expect(result.ms).toBeLessThan(2000);
    }
    const gone = await timed('/gone/x');
    expect(gone.status).toBe(502);
    expect(gone.ms).toBeLessThan(1000);
  }, 30000);
});

describe('hostile and slow clients', () => {
  it('refuses oversized headers and URLs, and slowloris connections do not starve other users', async () => {
    const big = await fetch(`${gatewayUrl}/notes/x`, { headers: { 'x-filler': 'a'.repeat(20000) } });
    expect(big.status).toBe(431);
    const longUrl = await fetch(`${gatewayUrl}/notes/${'a'.repeat(20000)}`);
    expect([414, 431]).toContain(longUrl.status);

    // 100 connections that send a request head one byte at a time and never finish it.
    const sockets: Socket[] = [];
    let closed = 0;
    for (let i = 0; i < 100; i += 1) {
      const socket = connect(ports.gateway, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.on('close', () => (closed += 1));
      socket.resume();
      socket.write('GET /notes/slow HTTP/1.1\r\nHost: x\r\n');
      sockets.push(socket);
    }
    const drip = setInterval(() => sockets.forEach((s) => s.writable && s.write('X')), 500);
    try {
      const started = Date.now();
      const healthy = await fetch(`${gatewayUrl}/healthz`);
      expect(healthy.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
      // The head timeout (gateway.headersTimeoutMs: 2 s) closes them.
      await new Promise((r) => setTimeout(r, 4000));
      expect(closed).toBe(100);
    } finally {
      clearInterval(drip);
      sockets.forEach((s) => s.destroy());
    }
  }, 30000);
});

describe('SIGTERM under load', () => {
  it('finishes in-flight requests, flushes the usage ledger and exits 0', async () => {
    const browser = new Browser({ accept: 'text/html' });
    expect((await signIn(browser)).status).toBe(200);
    const stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: PREFIX, path: ':memory:' });
    try {
      const before = (await usageInLedger(stores.ledger)).requests;
      // Upstream answers /slow after 2 s: these are in flight when SIGTERM arrives.
      const inFlight = Array.from({ length: 5 }, (_, i) => browser.request(`${gatewayUrl}/notes/slow/${i}`));
      await new Promise((r) => setTimeout(r, 500));
      const exit = porta.stop('SIGTERM');
      const pages = await Promise.all(inFlight);
      expect(pages.map((p) => p.status)).toEqual([200, 200, 200, 200, 200]);
      expect(await exit).toBe(0);
      const after = await usageInLedger(stores.ledger);
      // The five requests finished after SIGTERM, with a 1.5 s flush interval: only the shutdown's
      // flush can have written them (the sign-in's own request may already be in `before`).
      expect(after.requests).toBeGreaterThanOrEqual(before + 5);
      expect(new Set(after.ids).size).toBe(after.ids.length);
    } finally {
      await stores.close();
    }
  }, 60000);
});
