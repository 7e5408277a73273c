/**
 * Two gateway instances sharing one real redis-server (as two processes would): a session made
 * through one works through the other, logout at the IdP refuses the very next request through
 * either, and a rate limit is counted across both.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { freePort } from '../helpers/ports.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startTinyIdp, type TinyIdp } from './helpers/tiny-idp.ts';
import { startEchoUpstream, type EchoUpstream } from './helpers/echo-upstream.ts';
import { startGateway, type RunningGateway } from './helpers/harness.ts';
import { Browser } from './helpers/browser.ts';

let redis: RedisServer;
let idp: TinyIdp;
let upstream: EchoUpstream;
const stores: Stores[] = [];
let a: RunningGateway;
let b: RunningGateway;

beforeAll(async () => {
  redis = await startRedis();
  upstream = await startEchoUpstream();
  const portA = await freePort();
  const portB = await freePort();
  // Both instances present the same public URL (as behind one load balancer): A's.
  idp = await startTinyIdp({ gatewayUrl: `http://127.0.0.1:${portA}` });
  const services = [
    { id: 'app', upstream: upstream.url, pathPrefix: '/' },
    { id: 'limited', upstream: upstream.url, pathPrefix: '/limited' },
  ];
  for (const port of [portA, portB]) {
    const s = await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'gwtest:', path: ':memory:' });
    stores.push(s);
    const gw = await startGateway({ port, issuer: idp.issuer, stores: s, services, gateway: { publicUrl: `http://127.0.0.1:${portA}`, sessionCacheSeconds: 60 } });
    if (port === portA) a = gw;
    else b = gw;
  }
}, 30000);

afterAll(async () => {
  await a?.close();
  await b?.close();
  for (const s of stores) await s.close();
  await idp?.close();
  await upstream?.close();
  await redis?.stop();
});

const portOf = (gw: RunningGateway) => new URL(gw.url).port;

describe('two gateway instances on one Redis', () => {
  it('logout at the IdP refuses the very next request through either instance, whatever is cached', async () => {
    idp.nextUser = 'nuria';
    const browser = new Browser();
    const page = await browser.follow(`${a.url}/app/home`);
    expect(page.status).toBe(200);
    const cookie = browser.cookie(a.url, 'porta_session')!;
    const viaB = `http://127.0.0.1:${portOf(b)}`;
    const headers = { cookie: `porta_session=${cookie}`, accept: 'application/json' };
    // Both instances now hold the session in their caches (cache: 60 s in this test).
    expect((await fetch(`${a.url}/app/x`, { headers })).status).toBe(200);
    const seenB = await fetch(`${viaB}/app/x`, { headers });
    expect(seenB.status).toBe(200);
    expect(((await seenB.json()) as { headers: Record<string, string> }).headers['x-forwarded-user']).toBe('nuria');

    const end = await browser.request(`${idp.issuer}/session/end`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.body)![1];
    await browser.request(`${idp.issuer}/session/end/confirm`, { form: { xsrf, logout: 'yes' } });

    expect((await fetch(`${viaB}/app/x`, { headers })).status).toBe(401);
    expect((await fetch(`${a.url}/app/x`, { headers })).status).toBe(401);
  });

  it('counts a rate limit across both instances', async () => {
    const token = await idp.sign({ sub: 'rita' });
    const headers = { authorization: `Bearer ${token}`, accept: 'application/json' };
    const viaB = `http://127.0.0.1:${portOf(b)}`;
    // Windows are fixed minutes: do not start the count just before one ends.
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 3000) await new Promise((r) => setTimeout(r, msLeft + 50));
    const statuses: number[] = [];
    // The test policy allows 5 requests a minute on `limited`; alternate between the instances.
    for (let i = 0; i < 4; i++) {
      statuses.push((await fetch(`${a.url}/limited/x`, { headers })).status);
      statuses.push((await fetch(`${viaB}/limited/x`, { headers })).status);
    }
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
    const refused = await fetch(`${viaB}/limited/x`, { headers });
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another user has their own allowance.
    const other = await idp.sign({ sub: 'otto' });
    expect((await fetch(`${viaB}/limited/x`, { headers: { authorization: `Bearer ${other}` } })).status).toBe(200);
  });

  it('fails closed with 503 when Redis is gone (rate limits and sessions cannot be checked)', async () => {
    await redis.kill();
    const token = await idp.sign({ sub: 'newcomer' });
    const limited = await fetch(`${a.url}/limited/x`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    expect(limited.status).toBe(503);
    expect((await limited.json()).error.code).toBe('store_unavailable');
    const session = await fetch(`${a.url}/app/x`, { headers: { cookie: `porta_session=${'C'.repeat(43)}`, accept: 'application/json' } });
    expect(session.status).toBe(503);
    await redis.restart();
  });
});
