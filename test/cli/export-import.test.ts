/**
 * `porta export` from an embedded Porta and `porta import` into a fresh Porta on Redis + LDAP (real
 * redis-server and slapd), both as real processes, as an operator moving to several machines would.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';
import { LdapDirectory } from '../../directory/ldap/ldap-directory.ts';
import type { Account, Membership } from '../../directory/types.ts';
import type { PlatformExport } from '../../backup/format.ts';
import { importPlatform } from '../../backup/import.ts';
import { exportPlatform } from '../../backup/export.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const CLIENT = { clientId: 'billing', clientSecret: 'billing-secret-0123456789abcdef' };
const SERVICES = [
  { id: 'oficina', name: 'Oficina', upstream: 'http://127.0.0.1:9' },
  { id: 'agora', name: 'Agora', upstream: 'http://127.0.0.1:9' },
];
const PASSWORDS = { anna: 'anna has a long passphrase', bob: 'bob has another passphrase' };

async function porta(args: string[], config: string): Promise<{ code: number; out: string; err: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['cli/porta.ts', ...args], { cwd: ROOT, env: { ...process.env, PORTA_CONFIG: config, PORTA_LOG_LEVEL: 'silent' }, maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, out: stdout, err: stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout, err: e.stderr };
  }
}

let dir: string;
let redis: RedisServer;
let slapd: Slapd;
let source: TestPorta;
let target: TestPorta | undefined;
let exportFile: string;
let targetConfig: string;
let token: string;
let sourceAccounts: Account[];
const sourceMemberships = new Map<string, Membership[]>();

function targetRaw(bind: { dn: string; password: string }): Record<string, unknown> {
  return {
    store: { kind: 'redis', url: redis.url, keyPrefix: 'moved:' },
    directory: { kind: 'ldap', ldap: { url: slapd.url, bindDn: bind.dn, bindPassword: bind.password, baseDn: slapd.suffix } },
    services: SERVICES,
    idp: { clients: [{ ...CLIENT, grantTypes: ['client_credentials'] }] },
  };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'porta-move-'));
  [redis, slapd] = await Promise.all([startRedis(), startSlapd({ modules: ['argon2'] })]);

  source = await startTestPorta({ dataDir: join(dir, 'source'), config: { services: SERVICES, idp: { clients: [{ ...CLIENT, grantTypes: ['client_credentials'] }] } } });
  const { directory, policies, subscriptions } = source.platform;
  const anna = await directory.createAccount({ username: 'anna', email: 'anna@example.coop', name: 'Anna', password: PASSWORDS.anna, emailVerified: true });
  const bob = await directory.createAccount({ username: 'bob', email: 'bob@example.coop', name: 'Bob', password: PASSWORDS.bob });
  const carla = await directory.createAccount({ username: 'carla', email: 'carla@example.coop', name: 'Carla', emailVerified: true, platformAdmin: true });
  await directory.updateAccount(bob.id, { status: 'suspended' });
  await directory.createCollective({ id: 'femprocomuns', name: 'Femprocomuns', services: ['oficina', 'agora'] });
  await directory.addMember('femprocomuns', anna.id);
  await directory.setManager('femprocomuns', anna.id, true);
  await directory.setGrants('femprocomuns', anna.id, ['agora', 'oficina']);
  await directory.addMember('femprocomuns', carla.id);
  await directory.setGrants('femprocomuns', carla.id, ['agora']);
  const changed = structuredClone(policies.current().submitted) as { plans: Record<string, { price: { cents: number } }> };
  changed.plans['oficina-basic'].price.cents = 600;
  await policies.update(changed, carla.id);
  await subscriptions.create({ holder: { account: anna.id }, plan: 'oficina-basic', from: Date.UTC(2026, 0, 1) }, carla.id);

  sourceAccounts = (await directory.searchAccounts({ limit: 100 })).items;
  for (const a of sourceAccounts) sourceMemberships.set(a.id, await directory.membershipsOf(a.id));

  // A token signed by the source IdP before the move.
  const res = await fetch(`${source.issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: source.gatewayUrl }),
  });
  expect(res.status).toBe(200);
  token = ((await res.json()) as { access_token: string }).access_token;

  // The fresh target directory: no accounts (the test slapd seeds one "managed elsewhere"; remove it).
  const cleaner = new LdapDirectory({ url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix });
  const seeded = await cleaner.findAccount('seeded');
  if (seeded) await cleaner.deleteAccount(seeded.id);
  await cleaner.close();

  const sourceConfig = join(dir, 'source.json');
  writeFileSync(sourceConfig, JSON.stringify({ ...source.config, metering: { ...source.config.metering, journalPath: join(dir, 'export-journal') } }));
  exportFile = join(dir, 'porta-export.json');
  const exported = await porta(['export', '--out', exportFile], sourceConfig);
  expect({ code: exported.code, err: exported.err }).toMatchObject({ code: 0, err: expect.stringMatching(/holds secrets/) });

  // The import binds as the LDAP root DN: keeping entryUUID needs `manage` rights (Relax Rules control).
  targetConfig = join(dir, 'target.json');
  writeFileSync(
    targetConfig,
    JSON.stringify({ ...targetRaw({ dn: slapd.rootDn, password: slapd.rootPassword }), dataDir: join(dir, 'import'), idp: { issuer: 'http://127.0.0.1:1' }, metering: { journalPath: join(dir, 'import-journal') } }),
  );
}, 120_000);

afterAll(async () => {
  await target?.close();
  await source?.close();
  await Promise.all([redis?.stop(), slapd?.stop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('porta export', () => {
  it('writes every part of the platform to an owner-only file, password hashes as argon2id', () => {
    expect(statSync(exportFile).mode & 0o777).toBe(0o600);
    const doc = JSON.parse(readFileSync(exportFile, 'utf8')) as PlatformExport;
    expect(doc).toMatchObject({ format: 'porta-export', version: 1, source: { store: 'embedded', directory: 'embedded' } });
    expect(doc.accounts.map((a) => a.username).sort()).toEqual(['anna', 'bob', 'carla']);
    expect(doc.accounts.find((a) => a.username === 'anna')?.passwordHash).toMatch(/^\$argon2id\$/);
    expect(doc.accounts.find((a) => a.username === 'carla')?.passwordHash).toBeUndefined();
    expect(doc.policy.current?.version).toBe(2);
    expect(doc.idp.keys.map((k) => k.id).sort()).toEqual(['cookies', 'signing']);
    expect(doc.subscriptions.current).toHaveLength(1);
    expect(doc.audit.find((s) => s.stream === 'audit')?.entries.length).toBeGreaterThanOrEqual(2);
  });
});

describe('importPlatform into an embedded Porta (restore on one machine)', () => {
  it('restores accounts, passwords, memberships and keys', async () => {
    const doc = JSON.parse(readFileSync(exportFile, 'utf8')) as PlatformExport;
    const restored = await startTestPorta({ config: { services: SERVICES } });
    try {
      const report = await importPlatform(restored.platform, doc, { mode: 'empty-only' });
      expect(report).toMatchObject({ accounts: { created: 3 }, memberships: { created: 2 }, policy: 'imported' });
      const anna = sourceAccounts.find((a) => a.username === 'anna')!;
      expect((await restored.platform.directory.authenticate('anna@example.coop', PASSWORDS.anna))?.id).toBe(anna.id);
      expect(await restored.platform.directory.getAccount(anna.id)).toEqual(anna);
      expect(await restored.platform.directory.membershipsOf(anna.id)).toEqual(sourceMemberships.get(anna.id));
      expect(await restored.platform.stores.documents.get('idp-keys', 'signing')).toEqual(doc.idp.keys.find((k) => k.id === 'signing')?.doc);
      await expect(importPlatform(restored.platform, doc, { mode: 'empty-only' })).rejects.toThrow(/already has 3 account/);
    } finally {
      await restored.close();
    }
  }, 60_000);
});

describe('porta import into Redis + LDAP', () => {
  it('refuses a bad file with exit 2, names the field and writes nothing', async () => {
    const doc = JSON.parse(readFileSync(exportFile, 'utf8')) as PlatformExport;
    const crossBad = structuredClone(doc);
    crossBad.memberships[0].accountId = 'nobody';
    const crossFile = join(dir, 'cross-bad.json');
    writeFileSync(crossFile, JSON.stringify(crossBad));
    const cross = await porta(['import', crossFile], targetConfig);
    expect(cross.code).toBe(2);
    expect(cross.err).toMatch(/memberships\[0\]\.accountId: names no account/);

    const shapeBad = structuredClone(doc) as unknown as { accounts: Array<Record<string, unknown>> };
    delete shapeBad.accounts[1].email;
    const shapeFile = join(dir, 'shape-bad.json');
    writeFileSync(shapeFile, JSON.stringify(shapeBad));
    const shape = await porta(['import', shapeFile], targetConfig);
    expect(shape.code).toBe(2);
    expect(shape.err).toMatch(/accounts\[1\]\.email/);

    const hashBad = structuredClone(doc);
    hashBad.accounts[0].passwordHash = '{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=';
    const hashFile = join(dir, 'hash-bad.json');
    writeFileSync(hashFile, JSON.stringify(hashBad));
    const hash = await porta(['import', hashFile], targetConfig);
    expect(hash.code).toBe(2);
    expect(hash.err).toMatch(/accounts\[0\]\.passwordHash: LDAP keeps argon2/);

    const ldap = new LdapDirectory({ url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix });
    try {
      expect((await ldap.searchAccounts({ limit: 10 })).total).toBe(0);
      expect((await ldap.listCollectives()).total).toBe(0);
    } finally {
      await ldap.close();
    }
  }, 60_000);

  it('moves accounts with their ids and passwords, memberships, policy, subscriptions and keys', async () => {
    const imported = await porta(['import', exportFile], targetConfig);
    expect({ code: imported.code, err: imported.err }).toEqual({ code: 0, err: '' });
    expect(imported.out).toMatch(/3 accounts \(0 kept\), 1 collectives \(0 kept\), 2 memberships/);

    // Porta runs on the target with its ordinary service account.
    target = await startTestPorta({ config: targetRaw({ dn: slapd.serviceDn, password: slapd.servicePassword }) });
    const { directory, policies, subscriptions } = target.platform;

    const accounts = (await directory.searchAccounts({ limit: 100 })).items;
    const comparable = (list: Account[]) => list.map((a) => ({ ...a, createdAt: Math.floor(a.createdAt / 1000) }));
    expect(comparable(accounts)).toEqual(comparable(sourceAccounts));
    for (const a of accounts) expect(await directory.membershipsOf(a.id)).toEqual(sourceMemberships.get(a.id));

    const anna = await directory.authenticate('anna', PASSWORDS.anna);
    expect(anna?.id).toBe(sourceAccounts.find((a) => a.username === 'anna')?.id);
    expect(await directory.authenticate('anna', 'not her password')).toBeUndefined();
    // Bob keeps his password but stays suspended.
    expect(await directory.authenticate('bob', PASSWORDS.bob)).toBeUndefined();
    await directory.updateAccount(sourceAccounts.find((a) => a.username === 'bob')!.id, { status: 'active' });
    expect((await directory.authenticate('bob', PASSWORDS.bob))?.username).toBe('bob');

    expect(policies.current().version).toBe(source.platform.policies.current().version);
    expect(policies.current().submitted).toEqual(source.platform.policies.current().submitted);
    expect(await policies.history()).toEqual(await source.platform.policies.history());
    // The store's counter came along: the next change is version 3, as it would have been at the source.
    const next = await policies.update(policies.current().submitted, 'operator');
    expect(next.version).toBe(3);
    expect(await subscriptions.list()).toEqual(await source.platform.subscriptions.list());

    // Signed before the move, verified with the keys the target publishes.
    const jwks = (await (await fetch(`${target.issuer}/jwks`)).json()) as JSONWebKeySet;
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: source.issuer, audience: source.gatewayUrl });
    expect(payload.client_id).toBe(CLIENT.clientId);

    // And back: an export of the LDAP side carries the same password hashes (without `{ARGON2}`).
    const original = JSON.parse(readFileSync(exportFile, 'utf8')) as PlatformExport;
    const back = await exportPlatform(target.platform);
    expect(back.source).toMatchObject({ store: 'redis', directory: 'ldap' });
    const hashes = (d: PlatformExport) => Object.fromEntries(d.accounts.map((a) => [a.id, a.passwordHash]));
    expect(hashes(back)).toEqual(hashes(original));
    expect(back.memberships).toEqual(original.memberships);
  }, 90_000);

  it('refuses a second import into a target that has accounts, and --merge keeps what is there', async () => {
    const again = await porta(['import', exportFile], targetConfig);
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already has 3 account/);
    const merged = await porta(['import', exportFile, '--merge'], targetConfig);
    expect(merged.code).toBe(0);
    expect(merged.out).toMatch(/0 accounts \(3 kept\), 0 collectives \(1 kept\), 0 memberships \(2 kept\), policy kept/);
  }, 60_000);
});
