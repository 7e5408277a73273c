import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { Client } from 'ldapts';
import { LdapDirectory, type LdapDirectoryOptions } from '../../directory/ldap/ldap-directory.ts';
import { LdapConnection } from '../../directory/ldap/connection.ts';
import { AppError } from '../../kernel/errors.ts';
import { runDirectoryContract, CONTRACT_SERVICES } from '../contracts/directory.contract.ts';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';

function optionsFor(slapd: Slapd, extra: Partial<LdapDirectoryOptions> = {}): LdapDirectoryOptions {
  return { url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix, services: CONTRACT_SERVICES, pageSize: 3, ...extra };
}

// pageSize 3 makes every listing in the contract span several LDAP result pages.
runDirectoryContract('ldap (real slapd)', async () => {
  const slapd = await startSlapd();
  return { directory: new LdapDirectory(optionsFor(slapd)), teardown: () => slapd.stop() };
});

describe('LDAP directory specifics', () => {
  let slapd: Slapd;
  beforeAll(async () => {
    slapd = await startSlapd();
  });
  afterAll(async () => {
    await slapd?.stop();
  });

  async function asRoot<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ url: slapd.url });
    try {
      await client.bind(slapd.rootDn, slapd.rootPassword);
      return await fn(client);
    } finally {
      await client.unbind();
    }
  }

  it('stores collectives, managers, contracted services and grants with standard object classes', async () => {
    const dir = new LdapDirectory(optionsFor(slapd));
    await dir.createCollective({ id: 'layout', name: 'Layout Coop', services: ['oficina', 'agora'] });
    const ana = await dir.createAccount({ username: 'ana', email: 'ana@example.org', name: 'Ana', password: 'ana password 1' });
    await dir.addMember('layout', ana.id);
    await dir.setManager('layout', ana.id, true);
    await dir.setGrants('layout', ana.id, ['oficina']);
    const suffix = slapd.suffix;
    const collective = await asRoot(async (c) => (await c.search(`cn=layout,ou=collectives,ou=groups,${suffix}`, { scope: 'base', attributes: ['*'] })).searchEntries[0]);
    expect(collective.objectClass).toEqual(expect.arrayContaining(['groupOfNames']));
    expect(collective.description).toBe('Layout Coop');
    expect([collective.businessCategory].flat().sort()).toEqual(['agora', 'oficina']);
    expect(collective.owner).toBe(`uid=ana,ou=people,${suffix}`);
    expect([collective.member].flat()).toContain(`uid=ana,ou=people,${suffix}`);
    const grant = await asRoot(async (c) => (await c.search(`cn=layout-oficina,cn=layout,ou=collectives,ou=groups,${suffix}`, { scope: 'base', attributes: ['*'] })).searchEntries[0]);
    expect(grant.objectClass).toEqual(expect.arrayContaining(['groupOfNames']));
    expect([grant.member].flat()).toContain(`uid=ana,ou=people,${suffix}`);
    const person = await asRoot(async (c) => (await c.search(`uid=ana,ou=people,${suffix}`, { scope: 'base', attributes: ['objectClass', 'userPassword', 'entryUUID'] })).searchEntries[0]);
    expect(person.objectClass).toEqual(expect.arrayContaining(['inetOrgPerson']));
    expect(person.entryUUID).toBe(ana.id);
    // The server hashed the password (RFC 3062 Password Modify); it is never stored in clear.
    expect(String(person.userPassword)).toMatch(/^\{SSHA\}/);
    await dir.close();
  });

  it('refuses an empty password before binding, although slapd accepts an unauthenticated bind', async () => {
    const raw = new Client({ url: slapd.url });
    // RFC 4513 unauthenticated bind: a name with an empty password "succeeds" (as anonymous).
    await expect(raw.bind(`uid=seeded,ou=people,${slapd.suffix}`, '')).resolves.toBeUndefined();
    await raw.unbind();
    const connection = new LdapConnection({ url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, timeoutMs: 2000, startTls: false });
    expect(await connection.verifyPassword(`uid=seeded,ou=people,${slapd.suffix}`, '')).toBe(false);
    expect(await connection.verifyPassword(`uid=seeded,ou=people,${slapd.suffix}`, 'seeded password 123')).toBe(true);
    await connection.close();
    const dir = new LdapDirectory(optionsFor(slapd));
    expect(await dir.authenticate('seeded', '')).toBeUndefined();
    expect((await dir.authenticate('seeded', 'seeded password 123'))?.username).toBe('seeded');
    await dir.close();
  });

  it('read-only mode reads and authenticates but refuses every write with a clear error', async () => {
    const dir = new LdapDirectory(optionsFor(slapd, { readOnly: true }));
    expect(dir.readOnly).toBe(true);
    const seeded = await dir.findAccount('seeded@example.org');
    expect(seeded).toMatchObject({ username: 'seeded', name: 'Seeded Person', emailVerified: true, status: 'active', platformAdmin: false });
    expect((await dir.authenticate('seeded', 'seeded password 123'))?.id).toBe(seeded!.id);
    const writes: Array<() => Promise<unknown>> = [
      () => dir.createAccount({ username: 'nope', email: 'nope@example.org', name: 'N', password: 'long enough 1' }),
      () => dir.updateAccount(seeded!.id, { name: 'Changed' }),
      () => dir.setPassword(seeded!.id, 'another password'),
      () => dir.deleteAccount(seeded!.id),
      () => dir.createCollective({ id: 'ro', name: 'RO', services: [] }),
      () => dir.addMember('layout', seeded!.id),
      () => dir.setGrants('layout', seeded!.id, []),
    ];
    for (const write of writes) {
      const error = await write().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(409);
      expect((error as AppError).code).toBe('directory_read_only');
      expect((error as AppError).message).toMatch(/managed by another system/);
    }
    expect((await dir.findAccount('seeded'))?.name).toBe('Seeded Person');
    await dir.close();
  });

  it('reconnects (and rebinds) after the server drops the connection', async () => {
    const dir = new LdapDirectory(optionsFor(slapd));
    expect((await dir.findAccount('seeded'))?.username).toBe('seeded');
    await slapd.restart();
    expect((await dir.findAccount('seeded'))?.username).toBe('seeded');
    // Writes need the service bind: they work after the reconnect too.
    await dir.createCollective({ id: 'after-restart', name: 'After', services: [] });
    expect((await dir.getCollective('after-restart'))?.name).toBe('After');
    await dir.close();
  });

  it('reports an unreachable server as 503 directory_unavailable', async () => {
    const dir = new LdapDirectory(optionsFor(slapd, { url: 'ldap://127.0.0.1:1', timeoutMs: 500 }));
    const error = await dir.findAccount('seeded').then(() => undefined, (e: unknown) => e);
    expect((error as AppError).status).toBe(503);
    expect((error as AppError).code).toBe('directory_unavailable');
    await expect(dir.ping()).rejects.toThrow();
    await dir.close();
  });
});
