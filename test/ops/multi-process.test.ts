/**
 * Scale-out, as an operator runs it: two IdP processes and two gateway processes (real
 * `node cli/porta.ts start --role …`) sharing one real redis-server and one real slapd.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';
import { freePort } from '../helpers/ports.ts';
import { spawnPorta, writeConfig, type PortaProcess } from '../helpers/processes.ts';
import { startEchoUpstream, type EchoUpstream } from '../gateway/helpers/echo-upstream.ts';
import { Browser, readForm, type Page } from '../idp/helpers/browser.ts';
import { parseConfig } from '../../config/load.ts';
import { createDirectory } from '../../directory/index.ts';
import { createStores } from '../../store/index.ts';

const POLICY = fileURLToPath(new URL('../fixtures/ops/policy.yaml', import.meta.url));
const PASSWORD = 'correct horse battery staple';
const SERVICE_CLIENT = { clientId: 'billing', clientSecret: 'billing-secret-0123456789abcdef' };

let redis: RedisServer;
let slapd: Slapd;
let upstream: EchoUpstream;
let dir: string;
let idps: PortaProcess[] = [];
let gateways: PortaProcess[] = [];
let issuer: string;
let publicUrl: string;

function baseConfig(name: string, ports: { idp: number; gateway: number }): Record<string, unknown> {
  return {
    server: { host: '127.0.0.1', idpPort: ports.idp, gatewayPort: ports.gateway, shutdownTimeoutMs: 3000 },
    store: { kind: 'redis', url: redis.url, keyPrefix: 'scale:' },
    directory: {
      kind: 'ldap',
      ldap: { url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix },
    },
    idp: { issuer, clients: [{ ...SERVICE_CLIENT, grantTypes: ['client_credentials'] }] },
    gateway: { publicUrl },
    services: [
      { id: 'notes', name: 'Notes', upstream: upstream.url, pathPrefix: '/notes' },
      { id: 'limited', name: 'Limited', upstream: upstream.url, pathPrefix: '/limited' },
    ],
    policiesFile: POLICY,
    dataDir: join(dir, name),
    metering: { journalPath: join(dir, name, 'journal') },
  };
}

/** Signs in through a gateway: its 302 to the IdP, the login form, and back with a session. */
async function signInThrough(browser: Browser, gatewayUrl: string, path: string): Promise<Page> {
  const loginPage = await browser.follow(`${gatewayUrl}${path}`);
  const form = readForm(loginPage, '/login');
  return browser.follow(form.action, [], { form: { ...form.fields, login: 'alice', password: PASSWORD } });
}

beforeAll(async () => {
  [redis, slapd, upstream] = await Promise.all([startRedis(), startSlapd(), startEchoUpstream()]);
  dir = mkdtempSync(join(tmpdir(), 'porta-scale-'));
  const [idpA, idpB, gwA, gwB] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  // Behind a load balancer every process has the same public URLs; here they are the first process of each role.
  issuer = `http://127.0.0.1:${idpA}`;
  publicUrl = `http://127.0.0.1:${gwA}`;

  const seedConfig = parseConfig(baseConfig('seed', { idp: idpA, gateway: gwA }), {});
  const seedStores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'x' });
  const directory = createDirectory(seedConfig, seedStores);
  await directory.createAccount({ username: 'alice', email: 'alice@example.coop', name: 'Alice', password: PASSWORD, emailVerified: true });
  await directory.close();
  await seedStores.close();

  const start = (name: string, role: 'idp' | 'gateway', ports: { idp: number; gateway: number }) =>
    spawnPorta({ configFile: writeConfig(dir, name, baseConfig(name, ports)), role });
  // One IdP first: it creates the shared keys and the gateway's client secret in Redis.
  idps.push(await start('idp-a', 'idp', { idp: idpA, gateway: gwA }));
  idps.push(await start('idp-b', 'idp', { idp: idpB, gateway: gwA }));
  gateways = await Promise.all([start('gw-a', 'gateway', { idp: idpA, gateway: gwA }), start('gw-b', 'gateway', { idp: idpA, gateway: gwB })]);
}, 120000);

afterAll(async () => {
  await Promise.all([...idps, ...gateways].map((p) => p.stop()));
  await Promise.all([redis?.stop(), slapd?.stop(), upstream?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('two IdPs and two gateways on one Redis and one LDAP', () => {
  it('all IdPs publish the same keys, and a token from one verifies with the keys of the other', async () => {
    const [a, b] = await Promise.all(idps.map(async (p) => (await (await fetch(`${p.url}/jwks`)).json()) as JSONWebKeySet));
    expect(a.keys.length).toBeGreaterThan(0);
    expect(b).toEqual(a);
    const res = await fetch(`${idps[1].url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${SERVICE_CLIENT.clientId}:${SERVICE_CLIENT.clientSecret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', resource: publicUrl }),
    });
    expect({ status: res.status, body: res.status === 200 ? undefined : await res.text() }).toEqual({ status: 200, body: undefined });
    const { access_token } = (await res.json()) as { access_token: string };
    const { payload } = await jwtVerify(access_token, createLocalJWKSet(a), { issuer, audience: publicUrl });
    expect(payload.client_id).toBe(SERVICE_CLIENT.clientId);
  });

  it('a session made through one gateway works through the other, and logout through one ends it everywhere', async () => {
    const browser = new Browser({ accept: 'text/html' });
    const first = await signInThrough(browser, gateways[0].url, '/notes/today');
    expect(first.status).toBe(200);
    expect(JSON.parse(first.body)).toMatchObject({ url: '/notes/today' });

    const before = upstream.seen.length;
    const other = await browser.request(`${gateways[1].url}/notes/tomorrow`);
    expect(other.status).toBe(200);
    const seen = upstream.seen.slice(before).find((s) => s.url === '/notes/tomorrow');
    expect(seen?.headers['x-forwarded-preferred-username']).toBe('alice');

    // RP-initiated logout through gateway B: the IdP ends its session and back-channels gateway A.
    const logout = await browser.follow(`${gateways[1].url}/_porta/logout`);
    if (logout.status === 200 && /<form/.test(logout.body)) {
      const confirm = readForm(logout);
      await browser.follow(confirm.action, [], { form: { ...confirm.fields, logout: 'yes' } });
    }
    for (const gateway of gateways) {
      const after = await browser.request(`${gateway.url}/notes/again`, { headers: { accept: 'application/json' } });
      expect([302, 401]).toContain(after.status);
    }
  });

  it('counts a rate limit across both gateways', async () => {
    const browser = new Browser({ accept: 'text/html' });
    expect((await signInThrough(browser, gateways[0].url, '/limited/0')).status).toBe(200);
    // The fixture's policy gives /limited 5 requests a minute per account; the sign-in used one.
    const statuses: number[] = [];
    for (let i = 1; i <= 8; i += 1) statuses.push((await browser.request(`${gateways[i % 2].url}/limited/${i}`)).status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(4);
    expect(statuses.slice(4)).toEqual([429, 429, 429, 429]);
  });
});
