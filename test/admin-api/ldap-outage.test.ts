/**
 * A membership change while LDAP is down is refused with 503 and leaves nothing half-written: the
 * admin API over a real LDAP directory (slapd), stopped before the request and, harder, stopped
 * between the directory reads the request makes and its write.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import type { Account, Directory } from '../../directory/types.ts';
import { LdapDirectory } from '../../directory/ldap/ldap-directory.ts';
import type { AuditLog } from '../../directory/audit.ts';
import { adminApiHarness } from './harness.ts';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';


let slapd: Slapd;
let stores: Stores;
let ldap: LdapDirectory;
let app: express.Express;
let audit: AuditLog;
let manager: Account;
let newcomer: Account;
/** When set, the directory's addMember stops slapd first: the outage lands just before the write. */
let haltBeforeWrite = false;

let token: (account: Account) => Promise<string>;

async function members(): Promise<string[]> {
  return (await ldap.listMembers('coop', { limit: 100 })).items.map((m) => m.id).sort();
}

beforeAll(async () => {
  slapd = await startSlapd();
  stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  ldap = new LdapDirectory({ url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix, services: ['oficina'], timeoutMs: 1000 });
  // The real directory; only addMember is wrapped, to choose the moment slapd goes away.
  const directory = new Proxy(ldap, {
    get(target, property) {
      if (property === 'addMember') {
        return async (collectiveId: string, accountId: string) => {
          if (haltBeforeWrite) await slapd.halt();
          return target.addMember(collectiveId, accountId);
        };
      }
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  }) as Directory;
  const harness = await adminApiHarness(directory, stores);
  ({ app, audit } = harness);
  token = (account: Account) => harness.tokens.sign(account.id);
  const make = (username: string) => ldap.createAccount({ username, email: `${username}@porta.test`, name: username, password: 'correct horse battery', emailVerified: true });
  manager = await make('manager');
  newcomer = await make('newcomer');
  await ldap.createCollective({ id: 'coop', name: 'Coop', services: ['oficina'] });
  await ldap.addMember('coop', manager.id);
  await ldap.setManager('coop', manager.id, true);
}, 60_000);

afterAll(async () => {
  await ldap?.close();
  await stores?.close();
  await slapd?.stop();
});

async function addNewcomer() {
  return request(app).post('/api/v1/collectives/coop/members').set('Authorization', `Bearer ${await token(manager)}`).send({ accountId: newcomer.id });
}

async function auditActions(): Promise<string[]> {
  return (await audit.list({ limit: 1000 })).items.map((r) => r.action);
}

describe('adding a member while LDAP is down', () => {
  it('is refused with 503 and a clear message when slapd is stopped before the request', async () => {
    const before = await members();
    await slapd.halt();
    try {
      const res = await addNewcomer();
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('directory_unavailable');
      expect(res.body.error.message).toMatch(/directory is unavailable.*try again/i);
    } finally {
      await slapd.restart();
    }
    expect(await members()).toEqual(before);
    expect(await auditActions()).not.toContain('member.add');
  });

  it('is refused with 503 when slapd stops between the reads and the write, and nothing is half-written', async () => {
    const before = await members();
    expect(before).not.toContain(newcomer.id);
    haltBeforeWrite = true;
    try {
      const res = await addNewcomer();
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('directory_unavailable');
      expect(res.body.error.message).toMatch(/directory is unavailable/i);
    } finally {
      haltBeforeWrite = false;
      await slapd.restart();
    }
    expect(await members()).toEqual(before);
    expect(await ldap.membershipsOf(newcomer.id)).toEqual([]);
    expect(await auditActions()).not.toContain('member.add');
  });

  it('works again once slapd is back', async () => {
    const res = await addNewcomer();
    expect(res.status).toBe(201);
    expect(await members()).toEqual([manager.id, newcomer.id].sort());
    expect(await auditActions()).toContain('member.add');
  });
});
