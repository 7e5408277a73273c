/**
 * The gateway over real HTTP: a real OpenID Provider (oidc-provider), a real upstream, the real
 * policies, the embedded store.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import net from 'node:net';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { freePort } from '../helpers/ports.ts';
import { startTinyIdp, type TinyIdp } from './helpers/tiny-idp.ts';
import { startEchoUpstream, type EchoUpstream, type Seen } from './helpers/echo-upstream.ts';
import { startGateway, type RunningGateway } from './helpers/harness.ts';
import { Browser } from './helpers/browser.ts';

let idp: TinyIdp;
let upstream: EchoUpstream;
let stores: Stores;
let gw: RunningGateway;
/** Moves the gateway's clock (tokens' expiry) without touching the IdP's. */
let skewMs = 0;

async function signIn(user = 'ana'): Promise<Browser> {
  idp.nextUser = user;
  const browser = new Browser();
  const page = await browser.follow(`${gw.url}/app/home`);
  expect(page.status).toBe(200);
  return browser;
}

const seenBy = (page: { body: string }): Seen => JSON.parse(page.body) as Seen;

beforeAll(async () => {
  const port = await freePort();
  const gatewayUrl = `http://127.0.0.1:${port}`;
  upstream = await startEchoUpstream();
  idp = await startTinyIdp({ gatewayUrl });
  stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  const closedPort = await freePort();
  gw = await startGateway({
    port,
    issuer: idp.issuer,
    stores,
    clock: { now: () => Date.now() + skewMs },
    services: [
      { id: 'app', upstream: upstream.url, pathPrefix: '/' },
      { id: 'plain', upstream: upstream.url, pathPrefix: '/authelia', identityHeaders: 'authelia', passAccessToken: true },
      { id: 'open', upstream: upstream.url, pathPrefix: '/open' },
      { id: 'slow', upstream: upstream.url, pathPrefix: '/slowsvc', timeoutMs: 300 },
      { id: 'down', upstream: `http://127.0.0.1:${closedPort}`, pathPrefix: '/down' },
    ],
  });
});

afterAll(async () => {
  await gw?.close();
  await idp?.close();
  await upstream?.close();
  await stores?.close();
});

describe('browser flow', () => {
  it('sends a browser without a session to the IdP, signs in, and the upstream sees who it is', async () => {
    const browser = new Browser();
    const first = await browser.request(`${gw.url}/app/home?x=1`);
    expect(first.status).toBe(302);
    const authorize = new URL(first.location!);
    expect(authorize.origin).toBe(idp.issuer);
    expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorize.searchParams.get('redirect_uri')).toBe(`${gw.url}/_porta/callback`);

    idp.nextUser = 'ana';
    const page = await browser.follow(first.location!);
    expect(page.url).toBe(`${gw.url}/app/home?x=1`);
    expect(page.status).toBe(200);
    const seen = seenBy(page);
    expect(seen.url).toBe('/app/home?x=1');
    expect(seen.headers['x-forwarded-user']).toBe('ana');
    expect(seen.headers['x-forwarded-email']).toBe('ana@example.coop');
    expect(seen.headers['x-forwarded-preferred-username']).toBe('ana');
    expect(seen.headers['x-forwarded-groups']).toBe('femprocomuns');
    // The gateway's own cookie never reaches the upstream.
    expect(String(seen.headers.cookie ?? '')).not.toContain('porta_session');
  });

  it('sets an HttpOnly, SameSite=Lax session cookie whose value changes at every login', async () => {
    const browser = new Browser();
    const first = await browser.request(`${gw.url}/app/`);
    const afterIdp = await (async () => {
      let page = await browser.request(first.location!);
      while (page.location && !page.location.startsWith(`${gw.url}/_porta/callback`)) page = await browser.request(page.location);
      return page;
    })();
    const callback = await browser.request(afterIdp.location!);
    const setCookie = callback.headers.getSetCookie().find((c) => c.startsWith('porta_session='))!;
    expect(setCookie).toMatch(/HttpOnly/);
    expect(setCookie).toMatch(/SameSite=Lax/);
    const firstValue = browser.cookie(gw.url, 'porta_session');
    // Sign in again in the same browser: new id, and the old one no longer works.
    const again = await browser.follow(`${gw.url}/_porta/start?rd=/app/again`);
    expect(again.status).toBe(200);
    const secondValue = browser.cookie(gw.url, 'porta_session');
    expect(secondValue).toBeDefined();
    expect(secondValue).not.toBe(firstValue);
    const old = await fetch(`${gw.url}/app/x`, { headers: { cookie: `porta_session=${firstValue}`, accept: 'application/json' } });
    expect(old.status).toBe(401);
  });

  it('treats a forged, malformed or foreign cookie as no session', async () => {
    for (const value of ['A'.repeat(43), 'not-a-token', 'x'.repeat(200), '']) {
      const res = await fetch(`${gw.url}/app/x`, { headers: { cookie: `porta_session=${value}`, accept: 'application/json' }, redirect: 'manual' });
      expect(res.status).toBe(401);
    }
    const browser = await fetch(`${gw.url}/app/x`, { headers: { cookie: `porta_session=${'B'.repeat(43)}`, accept: 'text/html' }, redirect: 'manual' });
    expect(browser.status).toBe(302);
    expect(browser.headers.getSetCookie().some((c) => c.startsWith('porta_session=;'))).toBe(true);
  });

  it('an API client without a session gets 401 with WWW-Authenticate: Bearer, also for a POST from a browser', async () => {
    const api = await fetch(`${gw.url}/app/api`, { headers: { accept: 'application/json' } });
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toMatch(/^Bearer /);
    const post = await fetch(`${gw.url}/app/form`, { method: 'POST', headers: { accept: 'text/html' }, body: 'a=b', redirect: 'manual' });
    expect(post.status).toBe(401);
  });

  it('shows a signed-in person who is refused why, and what would give access', async () => {
    const browser = await signIn('ana');
    const page = await browser.request(`${gw.url}/admin`);
    expect(page.status).toBe(403);
    expect(page.body).toContain('only for platform admins');
    const json = await browser.request(`${gw.url}/admin/users`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(403);
    expect(JSON.parse(json.body).error.code).toBe('access_denied');
  });

  it('RP-initiated logout ends the session and sends the browser to the IdP', async () => {
    const browser = await signIn('ana');
    const cookie = browser.cookie(gw.url, 'porta_session');
    const out = await browser.request(`${gw.url}/_porta/logout`);
    expect(out.status).toBe(302);
    expect(out.location!.startsWith(idp.issuer)).toBe(true);
    const after = await fetch(`${gw.url}/app/x`, { headers: { cookie: `porta_session=${cookie}`, accept: 'application/json' } });
    expect(after.status).toBe(401);
  });

  it('logout at the IdP (back-channel) ends the gateway session at once', async () => {
    const browser = await signIn('bea');
    expect((await browser.request(`${gw.url}/app/x`)).status).toBe(200);
    const end = await browser.request(`${idp.issuer}/session/end`);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(end.body)?.[1];
    expect(xsrf).toBeDefined();
    await browser.request(`${idp.issuer}/session/end/confirm`, { form: { xsrf: xsrf!, logout: 'yes' } });
    const after = await browser.request(`${gw.url}/app/x`, { headers: { accept: 'application/json' } });
    expect(after.status).toBe(401);
  });

  it('refreshes the tokens of a session whose access token expired, and passes the fresh one on', async () => {
    const browser = await signIn('ana');
    const before = JSON.parse((await browser.request(`${gw.url}/authelia/x`)).body) as Seen;
    const firstToken = String(before.headers.authorization);
    expect(firstToken).toMatch(/^Bearer ey/);
    skewMs = 11 * 60_000; // past the access token's 10 minutes, as the gateway sees it
    try {
      const after = await browser.request(`${gw.url}/authelia/x`);
      expect(after.status).toBe(200);
      const refreshed = String((JSON.parse(after.body) as Seen).headers.authorization);
      expect(refreshed).toMatch(/^Bearer ey/);
      expect(refreshed).not.toBe(firstToken);
    } finally {
      skewMs = 0;
    }
  });

  it('ends a session after its idle time and after its absolute lifetime', async () => {
    const browser = await signIn('ana');
    const cookie = browser.cookie(gw.url, 'porta_session');
    const headers = { cookie: `porta_session=${cookie}`, accept: 'application/json' };
    expect((await fetch(`${gw.url}/app/x`, { headers })).status).toBe(200);
    skewMs = 9 * 3600_000; // idle limit: 8 hours
    try {
      expect((await fetch(`${gw.url}/app/x`, { headers })).status).toBe(401);
    } finally {
      skewMs = 0;
    }
    const other = await signIn('ana');
    const otherHeaders = { cookie: `porta_session=${other.cookie(gw.url, 'porta_session')}`, accept: 'application/json' };
    skewMs = 8 * 86400_000; // absolute limit: 7 days
    try {
      expect((await fetch(`${gw.url}/app/x`, { headers: otherHeaders })).status).toBe(401);
    } finally {
      skewMs = 0;
    }
  });

  it('refuses a back-channel logout token that is forged or lacks the event', async () => {
    const forged = await fetch(`${gw.url}/_porta/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'logout_token=abc.def.ghi' });
    expect(forged.status).toBe(400);
    const noEvent = await idp.sign({ sub: 'ana', sid: 'x', jti: 'j1' }, { typ: 'logout+jwt', audience: 'porta-gateway' });
    const res = await fetch(`${gw.url}/_porta/backchannel-logout`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `logout_token=${noEvent}` });
    expect(res.status).toBe(400);
    expect((await res.json()).error_description).toMatch(/event/);
  });
});

describe('bearer tokens', () => {
  it('lets an API client in with a valid access token and passes it on only where asked', async () => {
    const token = await idp.sign({ sub: 'carla', email: 'carla@example.coop', preferred_username: 'carla', name: 'Carla', scope: 'openid' });
    const res = await fetch(`${gw.url}/app/api/items`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    expect(res.status).toBe(200);
    const seen = (await res.json()) as Seen;
    expect(seen.headers['x-forwarded-user']).toBe('carla');
    expect(seen.headers.authorization).toBeUndefined();
    const passed = await fetch(`${gw.url}/authelia/x`, { headers: { authorization: `Bearer ${token}` } });
    const seenPassed = (await passed.json()) as Seen;
    expect(seenPassed.headers.authorization).toBe(`Bearer ${token}`);
    expect(seenPassed.headers['remote-user']).toBe('carla');
    expect(seenPassed.headers['remote-name']).toBe('Carla');
    expect(seenPassed.headers['x-forwarded-user']).toBeUndefined();
  });

  it('refuses expired, foreign-issuer, wrong-audience, wrong-type and forged tokens with 401', async () => {
    const { generateKeyPair, SignJWT } = await import('jose');
    const other = await generateKeyPair('RS256');
    const foreignKey = await new SignJWT({ sub: 'eve' }).setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: 'at+jwt' }).setIssuer(idp.issuer).setAudience(gw.url).setIssuedAt().setExpirationTime('10m').sign(other.privateKey);
    const cases: Record<string, string> = {
      expired: await idp.sign({ sub: 'eve' }, { expiresIn: Math.floor(Date.now() / 1000) - 60 }),
      foreignIssuer: await idp.sign({ sub: 'eve' }, { issuer: 'http://evil.example' }),
      wrongAudience: await idp.sign({ sub: 'eve' }, { audience: 'http://other.example' }),
      idTokenType: await idp.sign({ sub: 'eve' }, { typ: 'JWT' }),
      forgedSignature: foreignKey,
      garbage: 'not.a.jwt',
    };
    for (const [name, token] of Object.entries(cases)) {
      const res = await fetch(`${gw.url}/open/x`, { headers: { authorization: `Bearer ${token}`, accept: 'text/html' }, redirect: 'manual' });
      expect([name, res.status]).toEqual([name, 401]);
      expect(res.headers.get('www-authenticate')).toMatch(/error="invalid_token"/);
    }
  });

  it('a cached token stops working when it expires', async () => {
    const token = await idp.sign({ sub: 'dani' }, { expiresIn: '2m' });
    const ok = await fetch(`${gw.url}/app/x`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    skewMs = 5 * 60_000;
    try {
      const late = await fetch(`${gw.url}/app/x`, { headers: { authorization: `Bearer ${token}` } });
      expect(late.status).toBe(401);
    } finally {
      skewMs = 0;
    }
  });
});

describe('what reaches the upstream', () => {
  it('never forwards client-sent identity headers, in any case or with underscores', async () => {
    const spoof = {
      'X-Forwarded-User': 'root',
      'x-forwarded-email': 'root@evil',
      'X-FORWARDED-GROUPS': 'admins',
      'X-Forwarded-Preferred-Username': 'root',
      'X-Forwarded-Access-Token': 'x',
      'Remote-User': 'root',
      'remote-email': 'root@evil',
      'REMOTE-GROUPS': 'admins',
      'Remote-Name': 'Root',
      X_Forwarded_User: 'root',
      Remote_User: 'root',
      'x_forwarded-groups': 'admins',
    };
    const anonymous = await fetch(`${gw.url}/open/x`, { headers: spoof });
    const seen = (await anonymous.json()) as Seen;
    const names = Object.keys(seen.headers).map((n) => n.toLowerCase().replaceAll('_', '-'));
    for (const name of ['x-forwarded-user', 'x-forwarded-email', 'x-forwarded-groups', 'x-forwarded-preferred-username', 'x-forwarded-access-token', 'remote-user', 'remote-email', 'remote-groups', 'remote-name']) {
      expect(names).not.toContain(name);
    }
    const token = await idp.sign({ sub: 'ana', email: 'ana@example.coop' });
    const signedIn = (await (await fetch(`${gw.url}/app/x`, { headers: { ...spoof, authorization: `Bearer ${token}` } })).json()) as Seen;
    expect(signedIn.headers['x-forwarded-user']).toBe('ana');
    expect(signedIn.headers['x-forwarded-groups']).toBeUndefined();
    expect(Object.keys(signedIn.headers)).not.toContain('x_forwarded_user');
    expect(Object.keys(signedIn.headers)).not.toContain('remote-user');
  });

  it('overwrites X-Forwarded-For from a client that is not a trusted proxy', async () => {
    const res = await fetch(`${gw.url}/open/x`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
    const seen = (await res.json()) as Seen;
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-real-ip']).toBe('127.0.0.1');
  });

  /** Sends a raw request line (fetch would normalise the path itself). */
  function raw(path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString('latin1')));
      socket.on('end', () => {
        const status = Number(data.slice(9, 12));
        resolve({ status, body: data.slice(data.indexOf('\r\n\r\n') + 4) });
      });
      socket.on('error', reject);
      const head = Object.entries({ host: '127.0.0.1', connection: 'close', accept: 'application/json', ...headers }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET ${path} HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`);
    });
  }

  it('path tricks never reach a route the caller is denied, and the upstream gets the path decided on', async () => {
    const token = await idp.sign({ sub: 'ana' });
    const auth = { authorization: `Bearer ${token}` };
    const tricks = ['/public/..%2Fadmin', '/public/../admin', '//admin', '/public/%2e%2e/admin', '/public/%2E%2E/admin', '/%61dmin', '/public/.%2e/admin', '/./admin', '/public/..%5Cadmin', '/public%2F..%2Fadmin', '/public/%252e%252e/admin', '/public/..;/admin', '/admin/'];
    for (const path of tricks) {
      const before = upstream.seen.length;
      const res = await raw(path, auth);
      expect([path, res.status === 403 || res.status === 400]).toEqual([path, true]);
      expect(upstream.seen.length).toBe(before);
    }
    // Case: /ADMIN is not /admin; it is forwarded as /ADMIN exactly, never as /admin.
    const upper = await raw('/ADMIN', auth);
    expect(upper.status).toBe(200);
    expect((JSON.parse(upper.body) as Seen).url).toBe('/ADMIN');
    // A normalised path is what the upstream receives.
    const dotted = await raw('/public/a/./b/../c//d%7e?q=%2e', auth);
    expect((JSON.parse(dotted.body) as Seen).url).toBe('/public/a/c/d~?q=%2e');
  });
});

describe('upstream failures and websockets', () => {
  it('answers 502 when the upstream is down and 504 when it is too slow, as a page or JSON', async () => {
    const token = await idp.sign({ sub: 'ana' });
    const down = await fetch(`${gw.url}/down/x`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' } });
    expect(down.status).toBe(502);
    expect((await down.json()).error.code).toBe('bad_gateway');
    const slow = await fetch(`${gw.url}/slowsvc/slow`, { headers: { authorization: `Bearer ${token}`, accept: 'text/html' } });
    expect(slow.status).toBe(504);
    expect(await slow.text()).toContain('took too long');
  });

  it('keeps upstream connections alive across requests', async () => {
    const token = await idp.sign({ sub: 'ana' });
    await fetch(`${gw.url}/app/warm`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    const before = upstream.connections();
    for (let i = 0; i < 20; i++) await fetch(`${gw.url}/app/k${i}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.text());
    expect(upstream.connections() - before).toBeLessThanOrEqual(1);
  });

  function upgrade(path: string, headers: Record<string, string> = {}): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(new URL(gw.url).port), '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => {
        data += chunk.toString('latin1');
        if (data.includes('hello')) socket.destroy();
      });
      socket.on('close', () => resolve(data));
      socket.on('error', reject);
      const head = Object.entries({ host: '127.0.0.1', upgrade: 'websocket', connection: 'Upgrade', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13', ...headers }).map(([k, v]) => `${k}: ${v}`);
      socket.write(`GET ${path} HTTP/1.1\r\n${head.join('\r\n')}\r\n\r\n`);
    });
  }

  it('refuses a websocket upgrade without a session, and lets one with a session through the same checks', async () => {
    const before = upstream.seen.length;
    const refused = await upgrade('/app/socket');
    expect(refused.startsWith('HTTP/1.1 401')).toBe(true);
    expect(upstream.seen.length).toBe(before);
    const browser = await signIn('ana');
    const cookie = `porta_session=${browser.cookie(gw.url, 'porta_session')}`;
    const accepted = await upgrade('/app/socket', { cookie });
    expect(accepted.startsWith('HTTP/1.1 101')).toBe(true);
    expect(accepted).toContain('hello');
    expect(upstream.seen.at(-1)!.headers['x-forwarded-user']).toBe('ana');
    const denied = await upgrade('/admin/socket', { cookie });
    expect(denied.startsWith('HTTP/1.1 403')).toBe(true);
  });
});

describe('metering', () => {
  it('hands a usage record per proxied request to metering', async () => {
    const token = await idp.sign({ sub: 'mete' });
    const count = gw.records.length;
    const res = await fetch(`${gw.url}/app/upload`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/plain' }, body: 'x'.repeat(1000) });
    const body = await res.text();
    await new Promise((r) => setTimeout(r, 20));
    const record = gw.records.slice(count).find((r) => r.subject === 'mete')!;
    expect(record).toMatchObject({ service: 'app', method: 'POST', routeClass: '/', status: 200, kind: 'request', units: { requests: 1, bytesIn: 1000, bytesOut: Buffer.byteLength(body) } });
    expect(record.durationMs).toBeGreaterThanOrEqual(0);
    expect('id' in record).toBe(false); // metering gives the ledger record its id (it may count equal requests as one)
  });

  it('records a request whose client left before the answer as 499, not 200', async () => {
    const token = await idp.sign({ sub: 'leaver' });
    const count = gw.records.length;
    // The echo upstream answers /slow after 2 s; the client gives up after 200 ms.
    await expect(fetch(`${gw.url}/app/slow`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(200) })).rejects.toThrow();
    const deadline = Date.now() + 2_000;
    while (!gw.records.slice(count).some((r) => r.subject === 'leaver') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(gw.records.slice(count).find((r) => r.subject === 'leaver')).toMatchObject({ service: 'app', status: 499, units: { requests: 1 } });
  });
});
