/**
 * Two Porta processes sharing a real redis-server: a change made through the admin API in this one
 * is in force in the other (a child process) within a second; an invalid change changes nothing;
 * a revert restores the previous version exactly, everywhere.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import express from 'express';
import request from 'supertest';
import type { Caller } from '../../kernel/caller.ts';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { policyRoutes } from '../../policies/admin-routes.ts';
import { PolicyStore, type ActivePolicy } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';
import { edit, type Draft } from './draft.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const PREFIX = 'porta-policy-test:';
const WATCHER = fileURLToPath(new URL('./fixtures/policy-watcher.ts', import.meta.url));
const ADMIN: Caller = { accountId: 'admin-1', username: 'root', platformAdmin: true, managerOf: [], memberOf: [], amr: ['pwd'] };

interface WatcherEvent {
  event: 'ready' | 'change';
  version: number;
  freeMeetingMinutes?: number;
  at?: number;
}

/** The other process: its stdout lines, and a way to wait for the next one. */
class Watcher {
  readonly child: ChildProcess;
  private readonly events: WatcherEvent[] = [];
  private waiters: Array<() => void> = [];
  constructor(url: string) {
    this.child = spawn(process.execPath, [WATCHER, url, PREFIX], { stdio: ['ignore', 'pipe', 'inherit'] });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as WatcherEvent);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }
  async next(predicate: (e: WatcherEvent) => boolean, ms: number): Promise<WatcherEvent> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.events.find(predicate);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the other process did not report in ${ms} ms; saw ${JSON.stringify(this.events)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
  seen(): WatcherEvent[] {
    return [...this.events];
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const gone = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    await gone;
  }
}

function nextChange(store: PolicyStore, ms = 1000): Promise<ActivePolicy> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no policy change within ${ms} ms`));
    }, ms);
    const off = store.onChange((p) => {
      clearTimeout(timer);
      off();
      resolve(p);
    });
  });
}

describe('policy over a shared real Redis, two processes', () => {
  let redis: RedisServer;
  let one: Stores;
  let two: Stores;
  let a: PolicyStore;
  let b: PolicyStore;
  let watcher: Watcher;
  let app: express.Express;

  beforeAll(async () => {
    redis = await startRedis();
    one = await createStores({ kind: 'redis', url: redis.url, keyPrefix: PREFIX, path: '' });
    two = await createStores({ kind: 'redis', url: redis.url, keyPrefix: PREFIX, path: '' });
    a = await PolicyStore.open({ stores: one, pollMs: 0, knownServices: ['oficina', 'agora', 'meetings'] });
    b = await PolicyStore.open({ stores: two, pollMs: 0 });
    watcher = new Watcher(redis.url);
    await watcher.next((e) => e.event === 'ready', 15_000);
    const subscriptions = new SubscriptionStore({ stores: one, policy: () => a.current().document });
    const { router } = policyRoutes({ policies: a, subscriptions, directory: { getAccount: async () => undefined, findAccount: async () => undefined, membershipsOf: async () => [] }, services: [] });
    app = express();
    app.use((_req, res, next) => {
      res.locals.caller = ADMIN; // test-only: the real admin API authenticates a Bearer token
      next();
    });
    app.use('/api/v1', router);
  }, 30_000);
  afterAll(async () => {
    await watcher?.stop();
    await a?.close();
    await b?.close();
    await one?.close();
    await two?.close();
    await redis?.stop();
  });

  it('seeds once: every process starts on version 1', async () => {
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
    expect(watcher.seen()).toEqual([{ event: 'ready', version: 1 }]);
    expect((await a.history()).map((h) => h.version)).toEqual([1]);
  });

  it('a change through the admin API is in force in the other process within a second', async () => {
    const current = await request(app).get('/api/v1/policy');
    const doc = structuredClone(current.body.document as Draft);
    edit(doc, 'plans.free.meetingMinutes', 45);
    const inB = nextChange(b, 1000);
    const started = Date.now();
    const res = await request(app).put('/api/v1/policy').set('If-Match', current.headers.etag).send(doc);
    expect(res.status).toBe(200);
    expect(res.body.version).toBe(2);
    const seen = await watcher.next((e) => e.event === 'change' && e.version === 2, 1000);
    expect(seen.freeMeetingMinutes).toBe(45);
    expect(seen.at! - started).toBeLessThan(1000);
    expect((await inB).document.plans.free.meetingMinutes).toBe(45);
  });

  it('an invalid change is refused with the field named and changes nothing in any process', async () => {
    const doc = structuredClone((await request(app).get('/api/v1/policy')).body.document as Draft);
    edit(doc, 'plans.free.storage', 'lots');
    const res = await request(app).put('/api/v1/policy').send(doc);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_policy', fields: { 'plans.free.storage': expect.stringContaining('must be a size') } });
    await new Promise((r) => setTimeout(r, 200));
    expect(await one.documents.version('policy', 'current')).toBe(2);
    expect([a.version, b.version]).toEqual([2, 2]);
    expect(watcher.seen().filter((e) => e.event === 'change').map((e) => e.version)).toEqual([2]);
  });

  it('a subscription created in one process drops the other\'s entitlement cache at once', async () => {
    const here = new SubscriptionStore({ stores: one, policy: () => a.current().document });
    const there = new SubscriptionStore({ stores: two, policy: () => b.current().document, cacheMs: 60_000 });
    await there.watch();
    try {
      expect((await there.entitlementsOf('acc-7', [])).plans).toEqual([]);
      await here.create({ holder: { account: 'acc-7' }, plan: 'oficina-medium', extraBlocks: 1, from: 0 }, 'admin-1');
      const deadline = Date.now() + 1000;
      let plans: string[] = [];
      while (Date.now() < deadline && plans.length === 0) {
        plans = (await there.entitlementsOf('acc-7', [])).plans;
        if (plans.length === 0) await new Promise((r) => setTimeout(r, 20));
      }
      expect(plans).toEqual(['oficina-medium']);
    } finally {
      await there.close();
    }
  });

  it('concurrent changes from two processes: each version is written once, losers get 409, nothing is lost silently', async () => {
    const before = await one.documents.version('policy', 'current');
    const attempts = Array.from({ length: 8 }, (_, i) => {
      const doc = edit(structuredClone(a.current().submitted as Draft), 'plans.free.hostedMinutesPerDay', 100 + i);
      return (i % 2 ? a : b).update(doc, `admin-${i}`).then(
        (record) => ({ ok: true as const, version: record.version, minutes: 100 + i }),
        (error: { status?: number }) => ({ ok: false as const, status: error.status }),
      );
    });
    const results = await Promise.all(attempts);
    const wins = results.filter((r) => r.ok);
    expect(wins.length).toBeGreaterThanOrEqual(1);
    expect(results.filter((r) => !r.ok).every((r) => r.status === 409)).toBe(true);
    expect(new Set(wins.map((w) => w.version)).size).toBe(wins.length);
    const after = await one.documents.version('policy', 'current');
    expect(after).toBe(before + wins.length);
    const history = await a.history();
    expect(history.map((h) => h.version)).toEqual(Array.from({ length: after }, (_, i) => i + 1));
    // The last version written is the one in force.
    const last = wins.reduce((x, y) => (y.version > x.version ? y : x));
    expect((await a.getVersion(after))?.who).toBe(`admin-${last.minutes - 100}`);
  });

  it('a revert restores version 1 exactly, everywhere', async () => {
    const v1 = (await request(app).get('/api/v1/policy/history/1')).body.document;
    const inB = nextChange(b, 1000);
    const res = await request(app).post('/api/v1/policy/revert/1');
    expect(res.body).toMatchObject({ action: 'revert', revertedTo: 1 });
    const version = res.body.version as number;
    const seen = await watcher.next((e) => e.version === version, 1000);
    expect(seen.freeMeetingMinutes).toBe(60);
    expect((await inB).submitted).toEqual(v1);
    expect((await request(app).get('/api/v1/policy')).body).toEqual({ version, document: v1 });
  });
});
