/**
 * Sync clients through a whole Porta (IdP, admin API, gateway, embedded store) in front of the
 * WebDAV simulator: device passwords created over the admin API, used with Basic credentials on the
 * `webdav` service (the quota applies, the password never goes upstream, wrong ones get 401 Basic
 * then 429), revoked; plan changes pushed to the simulator's OCS quota; the daily storage sample
 * and its once-a-day lock.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import { importJWK, SignJWT } from 'jose';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import { startEchoUpstream, type EchoUpstream } from '../gateway/helpers/echo-upstream.ts';
import { startWebdavSimulator, type WebdavSimulator } from '../simulators/webdav-server.ts';
import { loadSigningKeys } from '../../idp/provider/keys.ts';
import { randomToken } from '../../kernel/ids.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { runDailySample } from '../../gateway/enforcers/webdav/daily-sample.ts';
import { ocsOf } from '../../gateway/enforcers/webdav/oficina-jobs.ts';
import type { UsageInput } from '../../metering/types.ts';
import type { Account } from '../../directory/types.ts';
import { call } from './http-client.ts';
import { eventually } from './eventually.ts';

const PASSWORD = 'correct horse battery staple';
const GiB = 1024 ** 3;
let porta: TestPorta;
let sim: WebdavSimulator;
let echo: EchoUpstream;
let admin: Account;
let marta: Account;
let pere: Account;
const tokens: Record<string, string> = {};

/** An admin-API access token signed with this Porta's own IdP key (as test/admin-api/self-service.test.ts). */
async function adminApiToken(accountId: string): Promise<string> {
  const [jwk] = await loadSigningKeys(porta.platform.stores.documents);
  const key = await importJWK(jwk!, 'RS256');
  return new SignJWT({ client_id: 'porta-admin-ui', scope: 'openid', amr: ['pwd'], jti: randomToken(12) })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: jwk!.kid })
    .setIssuer(porta.issuer)
    .setAudience(porta.config.idp.adminAudience)
    .setSubject(accountId)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

async function api(who: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${porta.issuer}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- checked field by field
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as any };
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const put = (user: string, authorization: string, name: string, body: Buffer) =>
  call(`${porta.gatewayUrl}/remote.php/dav/files/${user}/${name}`, { method: 'PUT', headers: { authorization }, body });

async function newDevice(who: string, name: string): Promise<{ password: string; deviceId: string; username: string }> {
  const created = await api(who, 'POST', '/me/devices', { name });
  expect(created.status).toBe(201);
  return { password: created.body.password, deviceId: created.body.device.deviceId, username: created.body.username };
}

beforeAll(async () => {
  sim = await startWebdavSimulator({ admin: { user: 'nc-admin', password: 'nc-admin-pass' } });
  echo = await startEchoUpstream();
  porta = await startTestPorta({
    config: {
      services: [
        { id: 'oficina', name: 'Oficina', kind: 'webdav', upstream: sim.url, pathPrefix: '/remote.php', ocsUser: 'nc-admin', ocsPassword: 'nc-admin-pass' },
        // A webdav service in front of an echo server: shows what an upstream receives.
        { id: 'davecho', name: 'Dav Echo', kind: 'webdav', upstream: echo.url, pathPrefix: '/echo' },
      ],
    },
  });
  const { directory, subscriptions } = porta.platform;
  admin = (await directory.getAccount(await porta.createAdmin('root', PASSWORD)))!;
  const make = (username: string) => directory.createAccount({ username, email: `${username}@example.coop`, name: username, password: PASSWORD, emailVerified: true });
  marta = await make('marta');
  pere = await make('pere');
  await subscriptions.create({ holder: { account: marta.id }, plan: 'oficina-basic', from: Date.now() - 86_400_000 }, admin.id);
  await subscriptions.create({ holder: { account: pere.id }, plan: 'oficina-basic', from: Date.now() - 86_400_000 }, admin.id);
  for (const [who, account] of [['admin', admin], ['marta', marta], ['pere', pere]] as const) tokens[who] = await adminApiToken(account.id);
}, 60_000);

afterAll(async () => {
  await porta?.close();
  await sim?.close();
  await echo?.close();
});

describe('device passwords in the admin API', () => {
  it('creates one shown once, lists it without the password, and names a bad field', async () => {
    const device = await newDevice('marta', 'Laptop');
    expect(device.username).toBe(marta.id);
    expect(device.password).toMatch(/^[0-9a-f]{16}\..{20,}$/);
    const listed = await api('marta', 'GET', '/me/devices');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ deviceId: device.deviceId, name: 'Laptop' })]);
    expect(JSON.stringify(listed.body)).not.toContain(device.password.split('.')[1]);
    // Another person's list does not show it.
    expect((await api('pere', 'GET', '/me/devices')).body.items).toEqual([]);
    const bad = await api('marta', 'POST', '/me/devices', { name: '  ' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields).toHaveProperty('name');
    expect((await api('marta', 'DELETE', '/me/devices/0000000000000000')).status).toBe(404);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await (await fetch(`${porta.issuer}/api/v1/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    expect(Object.keys(doc.paths['/me/devices'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(doc.paths['/me/devices/{deviceId}']).toHaveProperty('delete');
  });
});

describe('sync clients with device passwords through the gateway', () => {
  it('stores a file for the account, and the quota of its plan applies', async () => {
    const device = await newDevice('marta', 'Phone');
    const reply = await put(marta.id, basic(device.username, device.password), 'notes.txt', Buffer.from('hello'));
    expect(reply.status).toBe(201);
    expect(sim.fileSize(marta.id, '/notes.txt')).toBe(5);
    // 2 GiB announced against a 1 GB plan: 507 before a byte is forwarded.
    const over = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${porta.gatewayUrl}/remote.php/dav/files/${marta.id}/big.bin`);
      const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'PUT', headers: { authorization: basic(device.username, device.password), 'content-length': 2 * GiB }, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
        req.destroy();
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.flushHeaders();
    });
    expect(over).toBe(507);
    expect(sim.fileSize(marta.id, '/big.bin')).toBeUndefined();
  });

  it('never sends the device password upstream: the upstream gets the identity headers', async () => {
    const device = await newDevice('admin', 'Desktop');
    const reply = await call(`${porta.gatewayUrl}/echo/remote.php/dav/files/${admin.id}/`, { method: 'PROPFIND', headers: { authorization: basic(device.username, device.password), depth: '0' } });
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.text) as { headers: Record<string, string> };
    expect(seen.headers.authorization).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(device.password.split('.')[1]);
    expect(seen.headers['x-forwarded-user']).toBe(admin.id);
    expect(seen.headers['x-forwarded-preferred-username']).toBe('root');
    expect(seen.headers['x-forwarded-email']).toBe('root@example.coop');
  });

  it('answers a wrong password with 401 Basic naming the service, then 429 past the limit even for the right one', async () => {
    const device = await newDevice('pere', 'Tablet');
    const wrong = await put(pere.id, basic(pere.id, `${device.deviceId}.not-the-secret`), 'x.txt', Buffer.from('x'));
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Basic realm="Oficina"/);
    expect(wrong.text).toContain('NotAuthenticated');
    // Anything that is not a device password is refused the same way (no pass-through to Nextcloud).
    expect((await put(pere.id, basic(pere.id, 'nextcloud-app-password'), 'x.txt', Buffer.from('x'))).status).toBe(401);
    for (let i = 0; i < 8; i++) expect((await put(pere.id, basic(pere.id, 'wrong'), 'x.txt', Buffer.from('x'))).status).toBe(401);
    const limited = await put(pere.id, basic(pere.id, 'wrong'), 'x.txt', Buffer.from('x'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await put(pere.id, basic(device.username, device.password), 'x.txt', Buffer.from('x'))).status).toBe(429);
    expect(sim.fileSize(pere.id, '/x.txt')).toBeUndefined();
  });

  it('refuses a revoked device at once', async () => {
    const device = await newDevice('marta', 'Old laptop');
    expect((await put(marta.id, basic(device.username, device.password), 'a.txt', Buffer.from('a'))).status).toBe(201);
    expect((await api('marta', 'DELETE', `/me/devices/${device.deviceId}`)).status).toBe(204);
    const after = await put(marta.id, basic(device.username, device.password), 'b.txt', Buffer.from('b'));
    expect(after.status).toBe(401);
    expect(sim.fileSize(marta.id, '/b.txt')).toBeUndefined();
    expect((await api('marta', 'GET', '/me/devices')).body.items.map((d: { name: string }) => d.name)).not.toContain('Old laptop');
  });

  it('does not sign in a suspended account', async () => {
    const device = await newDevice('marta', 'Second');
    await porta.platform.directory.updateAccount(marta.id, { status: 'suspended' });
    try {
      expect((await put(marta.id, basic(device.username, device.password), 'y.txt', Buffer.from('y'))).status).toBe(401);
      expect(sim.fileSize(marta.id, '/y.txt')).toBeUndefined();
    } finally {
      await porta.platform.directory.updateAccount(marta.id, { status: 'active' });
    }
  });
});

describe('plan changes pushed to Nextcloud over OCS', () => {
  it('sets the quota of the account when its subscription changes, and of a collective\'s members', async () => {
    const { subscriptions, directory } = porta.platform;
    const medium = await subscriptions.create({ holder: { account: marta.id }, plan: 'oficina-medium', from: Date.now() - 1000 }, admin.id);
    expect(await eventually(() => sim.quotaOf(marta.id) === 5 * GiB)).toBe(true);
    await subscriptions.delete(medium.id, admin.id);
    expect(await eventually(() => sim.quotaOf(marta.id) === GiB)).toBe(true);

    await directory.createCollective({ id: 'ateneu', name: 'Ateneu', services: [] });
    const anna = await directory.createAccount({ username: 'anna', email: 'anna@example.coop', name: 'Anna', password: PASSWORD, emailVerified: true });
    await directory.addMember('ateneu', anna.id);
    await subscriptions.create({ holder: { collective: 'ateneu' }, plan: 'oficina-high', from: Date.now() - 1000, coversMembers: true, extraBlocks: 1 }, admin.id);
    expect(await eventually(() => sim.quotaOf(anna.id) === 15 * GiB)).toBe(true);
  });
});

describe('the daily storage sample', () => {
  it('samples each service once a day whichever process ticks, and again the next day', async () => {
    const { stores } = porta.platform;
    const oficina = porta.config.services.find((s) => s.id === 'oficina')!;
    const ocs = ocsOf(oficina, {})!;
    expect(ocs).toBeDefined();
    sim.seed('sam', 'a.bin', Buffer.alloc(4096));
    const records: UsageInput[] = [];
    const clock = new ManualClock(Date.UTC(2031, 0, 10, 2));
    const run = () =>
      runDailySample({
        services: [{ id: 'oficina', usedBytes: (uid) => ocs.usedBytes(uid) }],
        kv: stores.kv,
        accounts: async () => [{ subject: 'sam' }],
        recordUsage: (u) => records.push(u) > 0,
        clock,
        logger: porta.platform.logger,
      });
    // Two gateway processes ticking at once: one samples.
    const [a, b] = await Promise.all([run(), run()]);
    expect([a, b].filter((r) => r.oficina === 1)).toHaveLength(1);
    expect([a, b].filter((r) => r.oficina === undefined)).toHaveLength(1);
    clock.advance(20 * 3600_000);
    expect(await run()).toEqual({});
    clock.advance(4 * 3600_000);
    expect(await run()).toEqual({ oficina: 1 });
    expect(records.map((r) => [r.id, r.units.storageByteDays])).toEqual([
      ['storage-oficina-sam-2031-01-10', 4096],
      ['storage-oficina-sam-2031-01-11', 4096],
    ]);
  });

  it('gives the day back when the account list cannot be read', async () => {
    const clock = new ManualClock(Date.UTC(2031, 5, 1, 2));
    const options = {
      services: [{ id: 'oficina', usedBytes: async () => 1 }],
      kv: porta.platform.stores.kv,
      recordUsage: () => true,
      clock,
      logger: porta.platform.logger,
    };
    await expect(runDailySample({ ...options, accounts: () => Promise.reject(new Error('directory down')) })).rejects.toThrow('directory down');
    expect(await runDailySample({ ...options, accounts: async () => [{ subject: 'sam' }] })).toEqual({ oficina: 1 });
  });
});
