/**
 * Forward-auth behind a real nginx (`auth_request`): nginx asks the gateway about each request and
 * copies the identity headers it answers with; the browser signs in through nginx.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { freePort } from '../helpers/ports.ts';
import { startTinyIdp, type TinyIdp } from './helpers/tiny-idp.ts';
import { startEchoUpstream, type EchoUpstream, type Seen } from './helpers/echo-upstream.ts';
import { startGateway, type RunningGateway } from './helpers/harness.ts';
import { startNginx, forwardAuthConfig, type Nginx } from './helpers/nginx.ts';
import { Browser } from './helpers/browser.ts';

let idp: TinyIdp;
let upstream: EchoUpstream;
let stores: Stores;
let gw: RunningGateway;
let nginx: Nginx;

beforeAll(async () => {
  upstream = await startEchoUpstream();
  const gatewayPort = await freePort();
  // nginx's port must be known before the IdP registers the redirect URI: start nginx first.
  const config = forwardAuthConfig(`http://127.0.0.1:${gatewayPort}`, upstream.url);
  nginx = await startNginx(config.server, { http: config.http });
  idp = await startTinyIdp({ gatewayUrl: nginx.url });
  stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  gw = await startGateway({
    port: gatewayPort,
    issuer: idp.issuer,
    stores,
    trustedProxies: ['127.0.0.1'],
    gateway: { publicUrl: nginx.url },
    // Forward-auth services: the upstream is nginx's business; the route decides which policy applies.
    services: [{ id: 'app', upstream: upstream.url, pathPrefix: '/' }],
  });
});

afterAll(async () => {
  await nginx?.stop();
  await gw?.close();
  await idp?.close();
  await upstream?.close();
  await stores?.close();
});

describe('forward-auth behind nginx auth_request', () => {
  it('lets a bearer request through with Porta\'s identity headers, never the client\'s', async () => {
    const token = await idp.sign({ sub: 'ana', email: 'ana@example.coop', preferred_username: 'ana' });
    const res = await fetch(`${nginx.url}/app/items?x=1`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-user': 'root', 'remote-user': 'root', x_forwarded_user: 'root', 'X-Forwarded-Groups': 'admins' },
    });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Seen;
    expect(seen.url).toBe('/app/items?x=1');
    expect(seen.headers['x-forwarded-user']).toBe('ana');
    expect(seen.headers['x-forwarded-email']).toBe('ana@example.coop');
    expect(seen.headers['x-forwarded-groups']).toBeUndefined();
    expect(seen.headers['remote-user']).toBeUndefined();
    expect(Object.keys(seen.headers)).not.toContain('x_forwarded_user');
  });

  it('refuses with 403 what the policies deny, including through path tricks', async () => {
    const token = await idp.sign({ sub: 'ana' });
    const before = upstream.seen.length;
    for (const path of ['/admin', '/public/../admin', '/%61dmin/x']) {
      const res = await fetch(`${nginx.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
      expect([path, res.status]).toEqual([path, 403]);
    }
    expect(upstream.seen.length).toBe(before);
  });

  it('answers nginx 401 for a forged token and an anonymous browser is sent to sign in, then gets through', async () => {
    const forged = await fetch(`${nginx.url}/app/x`, { headers: { authorization: 'Bearer a.b.c' }, redirect: 'manual' });
    expect(forged.status).toBe(302); // nginx turns every 401 into the sign-in redirect (docs/gateway.md)
    idp.nextUser = 'bea';
    const browser = new Browser();
    const first = await browser.request(`${nginx.url}/app/home`);
    expect(first.status).toBe(302);
    expect(first.location).toBe(`${nginx.url}/_porta/start?rd=${nginx.url}/app/home`);
    const page = await browser.follow(first.location!);
    expect(page.url).toBe(`${nginx.url}/app/home`);
    expect(page.status).toBe(200);
    expect(((JSON.parse(page.body) as Seen).headers)['x-forwarded-user']).toBe('bea');
  });

  it('is asked over connections nginx keeps open (the documented upstream block), not one per request', async () => {
    const token = await idp.sign({ sub: 'dora' });
    const before = gw.connections();
    for (let i = 0; i < 20; i += 1) {
      const res = await fetch(`${nginx.url}/app/keepalive/${i}`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
    }
    // One nginx worker asks one question at a time here: one connection, kept (without `keepalive`: 20).
    expect(gw.connections() - before).toBeLessThanOrEqual(1);
  });

  it('answers the forward-auth question directly for Traefik/Caddy style callers', async () => {
    const token = await idp.sign({ sub: 'carla', email: 'carla@example.coop' });
    const ok = await fetch(`${gw.url}/_porta/auth`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-method': 'GET', 'x-forwarded-host': 'cloud.example.coop', 'x-forwarded-uri': '/app/x' } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('x-forwarded-user')).toBe('carla');
    expect(ok.headers.get('x-forwarded-email')).toBe('carla@example.coop');
    const denied = await fetch(`${gw.url}/_porta/auth`, { headers: { authorization: `Bearer ${token}`, 'x-forwarded-uri': '/admin' } });
    expect(denied.status).toBe(403);
    const browser = await fetch(`${gw.url}/_porta/auth`, { headers: { accept: 'text/html', 'x-forwarded-proto': 'https', 'x-forwarded-host': '127.0.0.1', 'x-forwarded-uri': '/app/x' }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.get('location')!.startsWith(idp.issuer)).toBe(true);
  });
});
