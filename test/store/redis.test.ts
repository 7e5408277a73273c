/**
 * Every store contract against a real redis-server (standalone), the data-path contracts against a
 * one-node Redis Cluster (which refuses cross-slot scripts), plus Redis-only behaviour: URL forms,
 * rate limiting, and failing closed when Redis goes away.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import { createStores, createRateLimiter } from '../../store/index.ts';
import { createRedisStores, isRedisOutage, parseRedisUrl, redactRedisUrl, type RedisStores } from '../../store/redis/index.ts';
import type { Stores } from '../../store/types.ts';
import { startRedis, startRedisSentinel, type RedisSentinel, type RedisServer } from '../helpers/redis-server.ts';
import { runKeyValueContract, type MakeStores } from '../contracts/kv.contract.ts';
import { runCountersContract } from '../contracts/counters.contract.ts';
import { runLedgerContract } from '../contracts/ledger.contract.ts';
import { runDocumentsContract } from '../contracts/documents.contract.ts';
import { runBroadcastContract } from '../contracts/broadcast.contract.ts';

/** One server per mode for the whole file, started on first use; each suite gets its own key prefix. */
const servers = new Map<string, Promise<RedisServer>>();
const server = (mode: 'standalone' | 'cluster') => {
  if (!servers.has(mode)) servers.set(mode, startRedis({ cluster: mode === 'cluster' }));
  return servers.get(mode)!;
};
afterAll(async () => {
  for (const s of servers.values()) await (await s).stop();
});

const harness = (mode: 'standalone' | 'cluster'): MakeStores => harnessAt(async () => (await server(mode)).url);

const harnessAt = (urlOf: () => Promise<string>): MakeStores => async () => {
  const url = await urlOf();
  const keyPrefix = `test:${randomUUID()}:`;
  const stores = await createRedisStores({ url, keyPrefix });
  const peers: Stores[] = [];
  return {
    stores,
    advance: (ms) => new Promise((r) => setTimeout(r, ms)), // Redis keeps its own time: wait for real
    makePeer: async () => {
      const peer = await createRedisStores({ url, keyPrefix });
      peers.push(peer);
      return peer;
    },
    cleanup: async () => {
      for (const p of peers) await p.close();
      await stores.close();
    },
  };
};

runKeyValueContract('redis', harness('standalone'));
runCountersContract('redis', harness('standalone'));
runLedgerContract('redis', harness('standalone'));
runDocumentsContract('redis', harness('standalone'));
runBroadcastContract('redis', harness('standalone'));

runLedgerContract('redis cluster', harness('cluster'));
runDocumentsContract('redis cluster', harness('cluster'));
runBroadcastContract('redis cluster', harness('cluster'));

/** A password-protected master behind a real Sentinel, reached with a redis+sentinel:// URL. */
const PASSWORD = 'pa:ss@word/1';
let sentinelSetup: Promise<{ master: RedisServer; sentinel: RedisSentinel }> | undefined;
const sentinel = () =>
  (sentinelSetup ??= (async () => {
    const master = await startRedis({ password: PASSWORD });
    return { master, sentinel: await startRedisSentinel(master, { password: PASSWORD }) };
  })());
afterAll(async () => {
  if (!sentinelSetup) return;
  const { master, sentinel: s } = await sentinelSetup;
  await s.stop();
  await master.stop();
});

runDocumentsContract('redis sentinel with password', harnessAt(async () => (await sentinel()).sentinel.url));
runCountersContract('redis sentinel with password', harnessAt(async () => (await sentinel()).sentinel.url));

describe('redis store: authentication', () => {
  it('refuses a wrong or missing password with a 503 that does not repeat it', async () => {
    const { master } = await sentinel();
    for (const url of [`redis://:wrong-topsecret@127.0.0.1:${master.port}`, `redis://127.0.0.1:${master.port}`]) {
      const err = await createRedisStores({ url, keyPrefix: 'x:' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreUnavailableError);
      const text = `${(err as Error).message} ${((err as Error).cause as Error).message}`;
      expect(text).not.toContain('topsecret');
      expect(text).toMatch(/WRONGPASS|NOAUTH|auth/i);
    }
  });

  it('connects directly to the master with the password from the URL', async () => {
    const { master } = await sentinel();
    const stores = await createRedisStores({ url: master.url, keyPrefix: `test:${randomUUID()}:` });
    await stores.kv.set('k', 'v');
    expect(await stores.kv.get('k')).toBe('v');
    await stores.close();
  });
});

describe('redis cluster: rate limits', () => {
  it('rate-limits over a cluster client', async () => {
    const { url } = await server('cluster');
    const stores = await createRedisStores({ url, keyPrefix: `test:${randomUUID()}:` });
    const limiter = await createRateLimiter(stores, { keyPrefix: 'api', points: 1, duration: 60 });
    expect((await limiter.consume('client-1')).remainingPoints).toBe(0);
    expect(await limiter.consume('client-1').catch((e: unknown) => e)).toBeInstanceOf(RateLimiterRes);
    await stores.close();
  });
});

describe('redis outage classification', () => {
  it('treats connection errors and failover replies as outages, bugs as bugs', () => {
    const reply = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });
    expect(isRedisOutage(new Error('Connection is closed.'))).toBe(true);
    expect(isRedisOutage(reply('READONLY You can\'t write against a read only replica.'))).toBe(true);
    expect(isRedisOutage(reply('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisOutage(reply('CLUSTERDOWN The cluster is down'))).toBe(true);
    expect(isRedisOutage(reply('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisOutage(new TypeError('ttlSeconds must be a positive number'))).toBe(false);
  });

  it('lets a command error through unchanged (a bug, not an outage)', async () => {
    const { url } = await server('standalone');
    const stores = await createRedisStores({ url, keyPrefix: `test:${randomUUID()}:` });
    await stores.kv.addToSet('a-set', 'm');
    const err = await stores.kv.get('a-set').catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(StoreUnavailableError);
    expect((err as Error).message).toMatch(/WRONGTYPE/);
    await stores.close();
    const closed = await stores.broadcast.subscribe('c', () => undefined).catch((e: unknown) => e);
    expect(closed).toBeInstanceOf(StoreUnavailableError);
    expect(((closed as Error).cause as Error).message).toMatch(/closed/);
  });
});

describe('redis store URLs', () => {
  it('parses standalone, TLS, Sentinel and Cluster forms', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toEqual({ mode: 'standalone', nodes: [{ host: '127.0.0.1', port: 6380 }], tls: false, username: undefined, password: undefined, db: 2 });
    expect(parseRedisUrl('rediss://:s%40cret@cache.example:6390')).toMatchObject({ mode: 'standalone', tls: true, password: 's@cret', username: undefined, db: 0 });
    expect(parseRedisUrl('redis://porta:pw@[::1]:7000')).toMatchObject({ nodes: [{ host: '::1', port: 7000 }], username: 'porta', password: 'pw' });
    expect(parseRedisUrl('redis://legacy-password@host')).toMatchObject({ nodes: [{ host: 'host', port: 6379 }], password: 'legacy-password', username: undefined });
    expect(parseRedisUrl('redis+sentinel://:pw@s1:26379,s2:26380/mymaster?db=3&sentinelPassword=spw')).toEqual({
      mode: 'sentinel',
      nodes: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }],
      tls: false,
      username: undefined,
      password: 'pw',
      db: 3,
      masterName: 'mymaster',
      sentinelPassword: 'spw',
    });
    expect(parseRedisUrl('redis+cluster://n1:7000,n2:7001')).toMatchObject({ mode: 'cluster', nodes: [{ host: 'n1', port: 7000 }, { host: 'n2', port: 7001 }] });
  });

  it('refuses malformed URLs with a reason and without repeating the password', () => {
    const attempts: Array<[string, RegExp]> = [
      ['http://:topsecret@h:1', /must start with redis:\/\//],
      ['redis+sentinel://:topsecret@h:26379', /master name/],
      ['redis://:topsecret@a:1,b:2', /exactly one host/],
      ['redis://:topsecret@h:99999', /out of range/],
      ['redis://:topsecret@h:1/x', /database must be a number/],
      ['redis+cluster://:topsecret@h:1/3', /no database/],
    ];
    for (const [url, reason] of attempts) {
      let message = '';
      try {
        parseRedisUrl(url);
      } catch (err) {
        message = (err as Error).message;
      }
      expect(message).toMatch(reason);
      expect(message).not.toContain('topsecret');
    }
  });

  it('redacts passwords for logs', () => {
    expect(redactRedisUrl('redis://user:topsecret@h:1/0')).toBe('redis://user:***@h:1/0');
    expect(redactRedisUrl('redis://:topsecret@h:1')).toBe('redis://:***@h:1');
    expect(redactRedisUrl('redis://topsecret@h:1')).toBe('redis://***@h:1');
    expect(redactRedisUrl('redis+sentinel://s:1/m?sentinelPassword=topsecret&db=1')).toBe('redis+sentinel://s:1/m?sentinelPassword=***&db=1');
  });

  it('rejects an unreachable Redis with a 503 that hides the password', async () => {
    const { freePort } = await import('../helpers/ports.ts');
    const port = await freePort();
    const err = await createRedisStores({ url: `redis://:topsecret@127.0.0.1:${port}`, keyPrefix: 'x:' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(String((err as Error).message) + String(((err as Error).cause as Error).message)).not.toContain('topsecret');
  });

  it('startRedis explains how to install redis-server when it is missing', async () => {
    const saved = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startRedis()).rejects.toThrow(
        'redis-server not found on PATH; install it with: sudo bash scripts/install-test-deps.sh (Debian: apt-get install redis-server)',
      );
    } finally {
      process.env.PATH = saved;
    }
  });
});

describe('redis store: createStores, rate limits, outages', () => {
  let own: RedisServer;
  let stores: RedisStores;
  beforeAll(async () => {
    own = await startRedis(); // its own server: this suite kills it
    stores = (await createStores({ kind: 'redis', url: own.url, keyPrefix: 'porta:', path: './unused.db' })) as RedisStores;
  });
  afterAll(async () => {
    await stores.close();
    await own.stop();
  });

  it('creates the redis store from config and keeps keys under the prefix', async () => {
    expect(stores.kind).toBe('redis');
    await stores.ping();
    await stores.kv.set('session:1', 'v');
    expect(await stores.client.get('porta:kv:session:1')).toBe('v');
  });

  it('rate-limits across limiters sharing a prefix', async () => {
    const limiter = await createRateLimiter(stores, { keyPrefix: 'login-ip', points: 2, duration: 60 });
    const again = await createRateLimiter(stores, { keyPrefix: 'login-ip', points: 2, duration: 60 });
    await limiter.consume('10.0.0.1');
    expect((await again.consume('10.0.0.1')).remainingPoints).toBe(0);
    const refused = await limiter.consume('10.0.0.1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimiterRes);
    expect(await stores.client.exists('porta:rl:login-ip:10.0.0.1')).toBe(1);
  });

  it('fails closed and fast while Redis is down, and recovers when it is back', async () => {
    const limiter = await createRateLimiter(stores, { keyPrefix: 'api', points: 100, duration: 60 });
    await own.kill();
    const started = Date.now();
    await expect(stores.ping()).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(stores.kv.get('session:1')).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    await expect(stores.counters.reserve('quota', 1, 10)).rejects.toBeInstanceOf(StoreUnavailableError);
    const consumed = await limiter.consume('10.0.0.9').catch((e: unknown) => e);
    expect(consumed).toBeInstanceOf(Error); // an Error, not a RateLimiterRes: the caller denies
    expect(Date.now() - started).toBeLessThan(3000);

    await own.restart();
    const deadline = Date.now() + 8000;
    for (;;) {
      try {
        await stores.ping();
        break;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(await stores.kv.get('session:1')).toBeUndefined(); // the restarted server is empty (no persistence)
    expect((await limiter.consume('10.0.0.9')).remainingPoints).toBe(99);
  });

  it('stays closed when closed while Redis is away: no connection comes back, none keeps the process alive', async () => {
    const other = (await createStores({ kind: 'redis', url: own.url, keyPrefix: 'closing:', path: './unused.db' })) as RedisStores;
    await other.broadcast.subscribe('ch', () => undefined); // opens the subscriber connection too
    const names = async () => String(await stores.client.call('CLIENT', 'LIST')).match(/name=porta-\w+/g) ?? [];
    expect((await names()).filter((n) => n === 'name=porta-subscriber')).toHaveLength(1);
    await own.kill();
    await other.close(); // both connections are reconnecting now: quit() cannot be sent
    await own.restart();
    // The suite's own stores reconnect (main connection only); the closed ones must not.
    const deadline = Date.now() + 8000;
    while (Date.now() < deadline) {
      try {
        await stores.ping();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    await new Promise((r) => setTimeout(r, 2500)); // longer than the reconnect back-off (2 s at most)
    expect(await names()).toEqual(['name=porta-main']);
  });
});
