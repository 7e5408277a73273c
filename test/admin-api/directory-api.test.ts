/**
 * Admin API over real HTTP (supertest), real directories (embedded; the manager-isolation suite also
 * over LDAP against a real slapd) and real ES256 access tokens (jose).
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express, { Router } from 'express';
import request from 'supertest';
import { generateKeyPair, type CryptoKey } from 'jose';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Caller } from '../../kernel/caller.ts';
import type { Account, Directory } from '../../directory/types.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { LdapDirectory } from '../../directory/ldap/ldap-directory.ts';
import { DIRECTORY_CHANGES } from '../../admin-ui/api/index.ts';
import { adminApiHarness } from './harness.ts';
import type { OutboxMailer } from '../../directory/mail/outbox.ts';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';

const SERVICES = ['oficina', 'agora', 'meet'];
const PASSWORD = 'correct horse battery';

interface World {
  app: express.Express;
  stores: Stores;
  directory: Directory;
  outbox: OutboxMailer;
  token: (account: Account, options?: { audience?: string; expiresIn?: string; key?: CryptoKey }) => Promise<string>;
  people: Record<'admin' | 'managerA' | 'memberA' | 'managerB' | 'memberB' | 'outsider', Account>;
  changes: string[];
  close: () => Promise<void>;
}

async function buildWorld(directory: Directory, cleanup: () => Promise<void> = async () => {}): Promise<World> {
  const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  const extra = Router();
  extra.get('/whoami', (_req, res) => {
    res.json({ username: (res.locals.caller as Caller).username });
  });
  extra.get('/boom', () => {
    throw new AppError(418, 'teapot', 'A readable message.');
  });
  const { app, outbox, tokens } = await adminApiHarness(directory, stores, {
    extraRouters: [{ path: '/extra', router: extra, openapi: { paths: { '/extra/whoami': { get: { summary: 'Who am I', responses: { 200: { description: 'OK' } } } } } } }],
  });
  const changes: string[] = [];
  await stores.broadcast.subscribe(DIRECTORY_CHANGES, (m) => changes.push(m));

  const make = (username: string, platformAdmin = false) =>
    directory.createAccount({ username, email: `${username}@porta.test`, name: username, password: PASSWORD, emailVerified: true, platformAdmin });
  const people = {
    admin: await make('admin', true),
    managerA: await make('managera'),
    memberA: await make('membera'),
    managerB: await make('managerb'),
    memberB: await make('memberb'),
    outsider: await make('outsider'),
  };
  await directory.createCollective({ id: 'coop-a', name: 'Coop A', services: ['oficina', 'agora'] });
  await directory.createCollective({ id: 'coop-b', name: 'Coop B', services: ['meet', 'oficina'] });
  for (const [cid, manager, member] of [['coop-a', people.managerA, people.memberA], ['coop-b', people.managerB, people.memberB]] as const) {
    await directory.addMember(cid, manager.id);
    await directory.setManager(cid, manager.id, true);
    await directory.addMember(cid, member.id);
  }
  await directory.setGrants('coop-b', people.memberB.id, ['meet']);

  const token = (account: Account, options: { audience?: string; expiresIn?: string; key?: CryptoKey } = {}) => tokens.sign(account.id, options);

  return {
    app,
    stores,
    directory,
    outbox,
    token,
    people,
    changes,
    close: async () => {
      await directory.close();
      await stores.close();
      await cleanup();
    },
  };
}

const api = (w: World) => ({
  as: (account: Account) => {
    const t = w.token(account);
    const bearer = async () => `Bearer ${await t}`;
    return {
      get: async (path: string) => request(w.app).get(`/api/v1${path}`).set('Authorization', await bearer()),
      post: async (path: string, body?: unknown) => request(w.app).post(`/api/v1${path}`).set('Authorization', await bearer()).send(body as object),
      put: async (path: string, body?: unknown) => request(w.app).put(`/api/v1${path}`).set('Authorization', await bearer()).send(body as object),
      patch: async (path: string, body?: unknown) => request(w.app).patch(`/api/v1${path}`).set('Authorization', await bearer()).send(body as object),
      delete: async (path: string) => request(w.app).delete(`/api/v1${path}`).set('Authorization', await bearer()),
    };
  },
});

/** The manager-isolation acceptance test, run over each directory implementation. */
function managerIsolation(name: string, makeWorld: () => Promise<World>): void {
  describe(`manager isolation (${name})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await makeWorld();
    });
    afterAll(async () => {
      await w?.close();
    });

    it('a manager of A adds, invites, grants and removes in A, all audited', async () => {
      const m = api(w).as(w.people.managerA);
      const added = await m.post('/collectives/coop-a/members', { login: 'outsider@porta.test' });
      expect(added.status).toBe(201);
      const grant = await m.put(`/collectives/coop-a/members/${w.people.outsider.id}/grants`, { services: ['oficina'] });
      expect(grant.status).toBe(200);
      expect(grant.body.grants).toEqual(['oficina']);
      const members = await m.get('/collectives/coop-a/members');
      expect(members.status).toBe(200);
      expect(members.body.items.find((x: { id: string }) => x.id === w.people.outsider.id)).toMatchObject({ grants: ['oficina'], manager: false });
      const invited = await m.post('/collectives/coop-a/invitations', { email: 'friend@porta.test' });
      expect(invited.status).toBe(201);
      expect((await w.outbox.list({ to: 'friend@porta.test' })).total).toBe(1);
      const removed = await m.delete(`/collectives/coop-a/members/${w.people.outsider.id}`);
      expect(removed.status).toBe(204);
      // Takes effect at once: the outsider no longer belongs to A.
      expect(await w.directory.membershipsOf(w.people.outsider.id)).toEqual([]);
      expect((await api(w).as(w.people.outsider).get('/collectives/coop-a')).status).toBe(404);
      const audit = await m.get('/collectives/coop-a/audit');
      expect(audit.status).toBe(200);
      const actions = audit.body.items.map((r: { action: string }) => r.action);
      expect(actions).toEqual(expect.arrayContaining(['member.add', 'grant.set', 'invitation.create', 'member.remove']));
      const grantRecord = audit.body.items.find((r: { action: string }) => r.action === 'grant.set');
      expect(grantRecord).toMatchObject({ actor: w.people.managerA.id, before: { grants: [] }, after: { grants: ['oficina'] } });
      expect(typeof grantRecord.time).toBe('number');
      expect(w.changes.length).toBeGreaterThan(0);
    });

    it('every attempt on collective B gets 404 and reveals nothing about B', async () => {
      const m = api(w).as(w.people.managerA);
      const b = w.people.memberB.id;
      const attempts = [
        () => m.get('/collectives/coop-b'),
        () => m.get('/collectives/coop-b/members'),
        () => m.post('/collectives/coop-b/members', { accountId: w.people.outsider.id }),
        () => m.put(`/collectives/coop-b/members/${b}/grants`, { services: [] }),
        () => m.put(`/collectives/coop-b/members/${b}/manager`, { manager: true }),
        () => m.delete(`/collectives/coop-b/members/${b}`),
        () => m.post('/collectives/coop-b/invitations', { email: 'x@porta.test' }),
        () => m.get('/collectives/coop-b/invitations'),
        () => m.get('/collectives/coop-b/audit'),
        () => m.get('/audit?collective=coop-b'),
        () => m.post('/collectives/coop-b/leave', {}),
      ];
      const nonexistent = await m.get('/collectives/no-such-coop/members');
      for (const attempt of attempts) {
        const res = await attempt();
        expect(res.status).toBe(404);
        expect(res.body).toEqual(nonexistent.body);
        expect(JSON.stringify(res.body)).not.toMatch(/coop-b|Coop B|memberb|meet/i);
      }
      // Nothing changed in B.
      expect(await w.directory.membershipsOf(b)).toEqual([{ collectiveId: 'coop-b', manager: false, grants: ['meet'] }]);
      expect((await w.directory.listMembers('coop-b')).total).toBe(2);
      const listed = await m.get('/collectives');
      expect(listed.body.items.map((c: { id: string }) => c.id)).toEqual(['coop-a']);
    });

    it('refuses granting a service the collective has not contracted', async () => {
      const m = api(w).as(w.people.managerA);
      const res = await m.put(`/collectives/coop-a/members/${w.people.memberA.id}/grants`, { services: ['meet'] });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('service_not_contracted');
      expect(res.body.error.fields).toHaveProperty('services');
      expect((await w.directory.membershipsOf(w.people.memberA.id))[0].grants).toEqual([]);
    });

    it('refuses promoting anyone to platform admin: by field, by group, by role name', async () => {
      const m = api(w).as(w.people.managerA);
      const target = w.people.memberA.id;
      const byField = [
        await m.patch(`/accounts/${target}`, { platformAdmin: true }),
        await m.post('/collectives/coop-a/members', { accountId: target, platformAdmin: true }),
        await m.put(`/collectives/coop-a/members/${target}/manager`, { manager: true, platformAdmin: true }),
        await m.patch('/me', { platformAdmin: true }),
        await m.post('/accounts', { username: 'sneaky', email: 'sneaky@porta.test', name: 'S', platformAdmin: true }),
      ];
      expect(byField.map((r) => r.status)).toEqual([403, 400, 400, 400, 403]);
      expect(byField[1].body.error.fields).toHaveProperty('platformAdmin');
      const byGroup = [
        await m.post('/collectives/porta-admins/members', { accountId: target }),
        await m.put(`/collectives/porta-admins/members/${target}/manager`, { manager: true }),
        await api(w).as(w.people.admin).post('/collectives', { id: 'porta-admins', name: 'Admins', services: [] }),
        await api(w).as(w.people.admin).post('/collectives', { id: 'admins', name: 'Admins', services: [] }),
      ];
      expect(byGroup.map((r) => r.status)).toEqual([404, 404, 400, 400]);
      const byRole = [
        await m.put(`/collectives/coop-a/members/${target}/grants`, { services: ['platform-admin'] }),
        await m.put(`/collectives/coop-a/members/${target}/grants`, { services: ['admin'] }),
        await m.put(`/collectives/coop-a/members/${target}/manager`, { role: 'platform-admin' }),
        await m.put(`/collectives/coop-a/members/${target}/manager`, { manager: 'admin' }),
        await m.post('/collectives/coop-a/members', { accountId: target, role: 'admin' }),
      ];
      expect(byRole.map((r) => r.status)).toEqual([400, 400, 400, 400, 400]);
      for (const account of [w.people.memberA, w.people.managerA]) expect((await w.directory.getAccount(account.id))?.platformAdmin).toBe(false);
    });

    it('refuses extra body fields, naming them', async () => {
      const res = await api(w).as(w.people.admin).post('/collectives', { id: 'coop-x', name: 'X', services: [], owner: 'managera' });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('validation_failed');
      expect(res.body.error.fields).toEqual({ owner: 'is not a field of this request' });
      expect(res.body.error.message).toMatch(/owner/);
      expect(await w.directory.getCollective('coop-x')).toBeUndefined();
    });
  });
}

managerIsolation('embedded', async () => {
  const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  return buildWorld(new EmbeddedDirectory({ documents: stores.documents, services: SERVICES }), () => stores.close());
});

let slapd: Slapd | undefined;
managerIsolation('ldap', async () => {
  slapd = await startSlapd();
  const s = slapd;
  return buildWorld(new LdapDirectory({ url: s.url, bindDn: s.serviceDn, bindPassword: s.servicePassword, baseDn: s.suffix, services: SERVICES }), () => s.stop());
});

describe('admin API (embedded)', () => {
  let w: World;
  beforeAll(async () => {
    const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
    w = await buildWorld(new EmbeddedDirectory({ documents: stores.documents, services: SERVICES }), () => stores.close());
  });
  afterAll(async () => {
    await w?.close();
  });

  it('answers 401 with WWW-Authenticate: Bearer without a valid token', async () => {
    const none = await request(w.app).get('/api/v1/me');
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer realm="porta"/);
    expect(none.body.error.code).toBe('unauthorized');
    const garbage = await request(w.app).get('/api/v1/me').set('Authorization', 'Bearer not.a.jwt');
    expect(garbage.status).toBe(401);
    expect(garbage.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    const { privateKey: otherKey } = await generateKeyPair('ES256');
    for (const token of [
      await w.token(w.people.admin, { key: otherKey }),
      await w.token(w.people.admin, { audience: 'someone-else' }),
      await w.token(w.people.admin, { expiresIn: '-1m' }),
    ]) {
      const res = await request(w.app).get('/api/v1/me').set('Authorization', `Bearer ${token}`);
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_token');
    }
    const basic = await request(w.app).get('/api/v1/me').set('Authorization', 'Basic YWRtaW46eA==');
    expect(basic.status).toBe(401);
  });

  it('a suspended account\'s token stops working at once', async () => {
    const victim = await w.directory.createAccount({ username: 'suspendme', email: 'suspendme@porta.test', name: 'S', password: PASSWORD });
    const token = await w.token(victim);
    expect((await request(w.app).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(200);
    const res = await api(w).as(w.people.admin).patch(`/accounts/${victim.id}`, { status: 'suspended' });
    expect(res.status).toBe(200);
    expect((await request(w.app).get('/api/v1/me').set('Authorization', `Bearer ${token}`)).status).toBe(401);
  });

  it('serves the OpenAPI document, including routes of other modules', async () => {
    const res = await request(w.app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toBe('3.1.0');
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/accounts', '/collectives/{cid}/members', '/collectives/{cid}/members/{aid}/grants', '/audit', '/extra/whoami']));
    const grantsBody = res.body.paths['/collectives/{cid}/members/{aid}/grants'].put.requestBody.content['application/json'].schema;
    expect(grantsBody.additionalProperties).toBe(false);
    expect(res.body.components.schemas.Error).toBeDefined();
  });

  it('mounts extra routers behind authentication with the caller set and the same error shape', async () => {
    expect((await request(w.app).get('/api/v1/extra/whoami')).status).toBe(401);
    const who = await api(w).as(w.people.memberA).get('/extra/whoami');
    expect(who.body).toEqual({ username: 'membera' });
    const boom = await api(w).as(w.people.memberA).get('/extra/boom');
    expect(boom.status).toBe(418);
    expect(boom.body).toEqual({ error: { code: 'teapot', message: 'A readable message.' } });
    expect((await api(w).as(w.people.memberA).get('/nowhere')).status).toBe(404);
  });

  it('refuses invalid JSON with the one error shape', async () => {
    const res = await request(w.app)
      .post('/api/v1/collectives')
      .set('Authorization', `Bearer ${await w.token(w.people.admin)}`)
      .set('Content-Type', 'application/json')
      .send('{"id": ');
    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: { code: 'invalid_json', message: 'The request body is not valid JSON.', fields: { body: 'must be valid JSON' } } });
  });

  it('a member sees their collective but not its members, and can leave', async () => {
    const member = await w.directory.createAccount({ username: 'leaver', email: 'leaver@porta.test', name: 'L', password: PASSWORD });
    await w.directory.addMember('coop-a', member.id);
    const m = api(w).as(member);
    expect((await m.get('/collectives/coop-a')).body).toEqual({ id: 'coop-a', name: 'Coop A', services: ['agora', 'oficina'] });
    const members = await m.get('/collectives/coop-a/members');
    expect(members.status).toBe(403);
    expect((await m.post('/collectives/coop-a/invitations', { email: 'x@porta.test' })).status).toBe(403);
    expect((await m.post('/collectives/coop-a/leave', {})).status).toBe(204);
    expect((await m.get('/collectives/coop-a')).status).toBe(404);
    expect(await w.directory.membershipsOf(member.id)).toEqual([]);
  });

  it('managers appoint other managers, who can then manage', async () => {
    const a = api(w).as(w.people.managerA);
    const res = await a.put(`/collectives/coop-a/members/${w.people.memberA.id}/manager`, { manager: true });
    expect(res.body).toEqual({ collectiveId: 'coop-a', manager: true, grants: [] });
    expect((await api(w).as(w.people.memberA).get('/collectives/coop-a/members')).status).toBe(200);
    await a.put(`/collectives/coop-a/members/${w.people.memberA.id}/manager`, { manager: false });
    expect((await api(w).as(w.people.memberA).get('/collectives/coop-a/members')).status).toBe(403);
  });

  it('platform admins manage accounts and collectives; lists are paged', async () => {
    const admin = api(w).as(w.people.admin);
    const created = await admin.post('/accounts', { username: 'fresh', email: 'fresh@porta.test', name: 'Fresh', password: PASSWORD });
    expect(created.status).toBe(201);
    expect(created.body).not.toHaveProperty('passwordHash');
    const dup = await admin.post('/accounts', { username: 'FRESH', email: 'other@porta.test', name: 'F' });
    expect(dup.status).toBe(409);
    expect(dup.body.error.fields).toHaveProperty('username');
    const ids: string[] = [];
    let cursor = '';
    for (let i = 0; i < 20; i++) {
      const page = await admin.get(`/accounts?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      ids.push(...page.body.items.map((a: { id: string }) => a.id));
      if (!page.body.next) break;
      cursor = page.body.next;
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe((await w.directory.searchAccounts({})).total);
    expect((await admin.get('/accounts?limit=0')).body.error.fields).toHaveProperty('limit');
    expect((await admin.get('/accounts?sort=name')).body.error.fields).toHaveProperty('sort');
    const coll = await admin.post('/collectives', { id: 'coop-c', name: 'Coop C', services: ['meet'] });
    expect(coll.status).toBe(201);
    expect((await admin.post('/collectives', { id: 'coop-d', name: 'D', services: ['unknown-service'] })).status).toBe(400);
    expect((await admin.patch('/collectives/coop-c', { services: ['meet', 'agora'] })).body.services).toEqual(['agora', 'meet']);
    expect((await api(w).as(w.people.managerA).get('/accounts')).status).toBe(403);
    expect((await api(w).as(w.people.managerA).post('/collectives', { id: 'coop-e', name: 'E', services: [] })).status).toBe(403);
    expect((await admin.patch(`/accounts/${w.people.admin.id}`, { platformAdmin: false })).status).toBe(409);
    const deleted = await admin.delete(`/accounts/${created.body.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.anonymousId).toMatch(/^anon-[0-9a-f]{64}$/);
    expect((await admin.get(`/accounts/${created.body.id}`)).status).toBe(404);
  });

  it('audit: all for platform admins, own collectives for managers; outbox for platform admins only', async () => {
    expect((await api(w).as(w.people.admin).get('/audit')).status).toBe(200);
    expect((await api(w).as(w.people.managerA).get('/audit')).status).toBe(403);
    expect((await api(w).as(w.people.managerA).get('/audit?collective=coop-a')).status).toBe(200);
    expect((await api(w).as(w.people.managerA).get('/outbox')).status).toBe(403);
    expect((await api(w).as(w.people.admin).get('/outbox')).status).toBe(200);
  });

  it('an invitation is accepted once with the caller\'s account', async () => {
    await api(w).as(w.people.managerB).post('/collectives/coop-b/invitations', { email: 'outsider@porta.test' });
    const admin = api(w).as(w.people.admin);
    const mail = (await admin.get('/outbox?to=outsider@porta.test')).body.items[0];
    const token = mail.text.match(/token=([A-Za-z0-9_-]+)/)[1];
    const o = api(w).as(w.people.outsider);
    const accepted = await o.post('/invitations/accept', { token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.collectiveId).toBe('coop-b');
    expect((await o.get('/collectives/coop-b')).status).toBe(200);
    const again = await o.post('/invitations/accept', { token });
    expect(again.status).toBe(410);
    expect(again.body.error.code).toBe('invitation_invalid');
  });
});
