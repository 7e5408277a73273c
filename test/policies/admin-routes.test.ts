import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import type { Caller } from '../../kernel/caller.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { policyRoutes } from '../../policies/admin-routes.ts';
import { PolicyStore, AUDIT_STREAM } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';

import { defaultDraft as defaultDoc, edit } from './draft.ts';

const CALLERS: Record<string, Caller> = {
  admin: { accountId: 'admin-1', username: 'root', platformAdmin: true, managerOf: [], memberOf: [], amr: ['pwd', 'otp'] },
  manager: { accountId: 'mgr-1', username: 'marta', platformAdmin: false, managerOf: ['femprocomuns'], memberOf: ['femprocomuns'], amr: ['pwd'] },
  member: { accountId: 'mem-1', username: 'pau', platformAdmin: false, managerOf: [], memberOf: ['femprocomuns'], amr: ['pwd'] },
};

describe('policy admin routes', () => {
  let stores: EmbeddedStores;
  let policies: PolicyStore;
  let subscriptions: SubscriptionStore;
  let directory: EmbeddedDirectory;
  let app: express.Express;
  let aliceId: string;
  const clock = new ManualClock(Date.UTC(2026, 5, 1));

  beforeAll(async () => {
    stores = new EmbeddedStores({ path: ':memory:', clock });
    const services = ['oficina', 'agora', 'meetings', 'oficina-femprocomuns'];
    directory = new EmbeddedDirectory({ documents: stores.documents, clock, services });
    policies = await PolicyStore.open({ stores, clock, pollMs: 0, knownServices: services });
    subscriptions = new SubscriptionStore({ stores, clock, policy: () => policies.current().compiled.document });
    const alice = await directory.createAccount({ username: 'alice', email: 'alice@example.org', name: 'Alice' });
    aliceId = alice.id;
    await directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: ['oficina-femprocomuns'] });
    await directory.addMember('femprocomuns', alice.id);
    await directory.setGrants('femprocomuns', alice.id, ['oficina-femprocomuns']);

    const { router } = policyRoutes({
      policies,
      subscriptions,
      directory,
      clock,
      services: [{ id: 'oficina', name: 'Oficina' }, { id: 'agora', name: 'Agora' }, { id: 'meetings' }, { id: 'oficina-femprocomuns', dedicated: true }],
    });
    app = express();
    // Test-only stand-in for the admin API's authentication: the caller comes from a header.
    app.use((req, res, next) => {
      const who = req.get('x-test-caller');
      if (who) res.locals.caller = CALLERS[who];
      next();
    });
    app.use('/api/v1', router);
  });
  afterAll(async () => {
    await policies.close();
    await stores.close();
  });

  const as = (who: string | undefined, req: request.Test) => (who ? req.set('x-test-caller', who) : req);

  describe('a manager, a member and an anonymous caller are refused on every write', () => {
    const writes: Array<[string, (id: string) => [method: 'put' | 'post' | 'delete', path: string, body?: object]]> = [
      ['PUT /policy', () => ['put', '/api/v1/policy', defaultDoc()]],
      ['POST /policy/revert/1', () => ['post', '/api/v1/policy/revert/1']],
      ['POST /subscriptions', () => ['post', '/api/v1/subscriptions', { holder: { account: 'mgr-1' }, plan: 'oficina-high', from: 0 }]],
      ['PUT /subscriptions/:id', (id) => ['put', `/api/v1/subscriptions/${id}`, { holder: { account: 'mgr-1' }, plan: 'oficina-high', from: 0 }]],
      ['DELETE /subscriptions/:id', (id) => ['delete', `/api/v1/subscriptions/${id}`]],
      ['POST /subscriptions/:id/revert/1', (id) => ['post', `/api/v1/subscriptions/${id}/revert/1`]],
    ];
    let subscriptionId: string;
    beforeAll(async () => {
      subscriptionId = (await subscriptions.create({ holder: { account: 'mem-1' }, plan: 'oficina-basic', from: 0 }, 'admin-1')).id;
    });

    const cases = writes.flatMap(([name, make]) => [['manager', 403], ['member', 403], [undefined, 401]].map(([who, status]) => [name, who, status, make] as const));
    it.each(cases)('%s as %s → %s, nothing changes', async (_name, who, status, make) => {
      const auditBefore = await stores.ledger.count(AUDIT_STREAM);
      const subsBefore = await subscriptions.list();
      const [method, path, body] = make(subscriptionId);
      let req = request(app)[method](path);
      if (body) req = req.send(body);
      const res = await as(who as string | undefined, req);
      expect(res.status).toBe(status);
      expect(res.body.error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden');
      expect(res.body.error.message.length).toBeGreaterThan(5);
      if (status === 401) expect(res.headers['www-authenticate']).toBe('Bearer realm="porta"');
      expect(policies.version).toBe(1);
      expect(await subscriptions.list()).toEqual(subsBefore);
      expect(await stores.ledger.count(AUDIT_STREAM)).toBe(auditBefore);
    });

    it.each([['manager', 403], ['member', 403], [undefined, 401]] as const)('reads are for platform admins too (%s → %s)', async (who, status) => {
      for (const path of ['/api/v1/policy', '/api/v1/policy/history', '/api/v1/subscriptions', `/api/v1/policy/explain?account=alice&service=agora`]) {
        expect((await as(who, request(app).get(path))).status).toBe(status);
      }
    });
  });

  describe('as a platform admin', () => {
    it('reads the policy with its version as ETag', async () => {
      const res = await as('admin', request(app).get('/api/v1/policy'));
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('"1"');
      expect(res.body).toEqual({ version: 1, document: defaultDoc() });
    });

    it('refuses an invalid policy with 400 invalid_policy naming the fields, and changes nothing', async () => {
      const doc = defaultDoc();
      edit(doc, 'plans.free.storage', 'much');
      edit(doc, 'plans.oficina-basic.price.cents', 4.5);
      edit(doc, 'rules.2.services', ['nextcloud']);
      const res = await as('admin', request(app).put('/api/v1/policy').send(doc));
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_policy');
      expect(res.body.error.message).toContain('plans.free.storage');
      expect(res.body.error.fields).toEqual({
        'plans.free.storage': expect.stringContaining('must be a size'),
        'plans.oficina-basic.price.cents': 'must be whole cents',
        'rules.2.services.0': 'unknown service "nextcloud"',
      });
      expect(policies.version).toBe(1);
      const history = await as('admin', request(app).get('/api/v1/policy/history'));
      expect(history.body.items).toHaveLength(1);
    });

    it('refuses a body that is not JSON or not an object', async () => {
      const broken = await as('admin', request(app).put('/api/v1/policy').set('content-type', 'application/json').send('{"plans":'));
      expect(broken.status).toBe(400);
      expect(broken.body.error).toMatchObject({ code: 'invalid_json', fields: { body: 'must be valid JSON' } });
      const list = await as('admin', request(app).put('/api/v1/policy').send([1, 2]));
      expect(list.status).toBe(400);
      // Past the body limit (1 MB): 413 in the API's error shape, not a 500, and nothing changes.
      const huge = await as('admin', request(app).put('/api/v1/policy').set('content-type', 'application/json').send(`{"x":"${'a'.repeat(1_100_000)}"}`));
      expect(huge.status).toBe(413);
      expect(huge.body.error).toMatchObject({ code: 'body_too_large' });
      expect(policies.version).toBe(1);
    });

    it('changes, lists the history with a diff, and reverts exactly', async () => {
      const doc = edit(defaultDoc(), 'plans.oficina-basic.storage', '2 GB');
      clock.advance(1000);
      const put = await as('admin', request(app).put('/api/v1/policy').set('If-Match', '"1"').send(doc));
      expect(put.status).toBe(200);
      expect(put.body).toMatchObject({ version: 2, who: 'admin-1', when: clock.now(), action: 'update', changes: [{ path: 'plans.oficina-basic.storage', before: '1 GB', after: '2 GB' }] });
      expect(put.headers.etag).toBe('"2"');

      const stale = await as('admin', request(app).put('/api/v1/policy').set('If-Match', '"1"').send(defaultDoc()));
      expect(stale.status).toBe(409);

      const history = await as('admin', request(app).get('/api/v1/policy/history'));
      expect(history.body.current).toBe(2);
      expect(history.body.items.map((i: { version: number; who: string }) => [i.version, i.who])).toEqual([[1, 'system'], [2, 'admin-1']]);
      const v2 = await as('admin', request(app).get('/api/v1/policy/history/2'));
      expect(v2.body.document).toEqual(doc);
      expect((await as('admin', request(app).get('/api/v1/policy/history/9'))).status).toBe(404);
      expect((await as('admin', request(app).get('/api/v1/policy/history/abc'))).body.error.fields).toEqual({ version: 'must be a positive whole number' });

      const revert = await as('admin', request(app).post('/api/v1/policy/revert/1'));
      expect(revert.status).toBe(200);
      expect(revert.body).toMatchObject({ version: 3, action: 'revert', revertedTo: 1 });
      const now = await as('admin', request(app).get('/api/v1/policy'));
      expect(now.body).toEqual({ version: 3, document: defaultDoc() });
      const audit = (await stores.ledger.read(AUDIT_STREAM)).entries.map((e) => e.data.action);
      expect(audit.slice(-2)).toEqual(['policy.update', 'policy.revert']);
    });

    it('manages subscriptions and explains the result', async () => {
      const before = await as('admin', request(app).get(`/api/v1/policy/explain?account=alice&service=oficina`));
      expect(before.status).toBe(200);
      expect(before.body.decision).toMatchObject({ effect: 'deny', rule: 'default' });
      expect(before.body.decision.wouldAllow).toContain('Oficina basic');
      expect(before.body.text).toContain('Decision:    DENY');

      const created = await as('admin', request(app).post('/api/v1/subscriptions').send({ holder: { account: aliceId }, plan: 'oficina-medium', extraBlocks: 2, from: 0 }));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ id: expect.any(String), plan: 'oficina-medium', extraBlocks: 2, coversMembers: false });

      const after = await as('admin', request(app).get(`/api/v1/policy/explain?account=alice&service=oficina&path=/apps/files`));
      expect(after.body.decision).toMatchObject({ effect: 'allow', rule: { id: 'oficina-storage-plans' } });
      expect(after.body.decision.limits.storage).toBe(15 * 1024 ** 3);
      expect(after.body.quotaClaim).toBe('15 GB');
      expect(after.body.text).toContain('Nextcloud quota claim: "15 GB"');

      const dedicated = await as('admin', request(app).get(`/api/v1/policy/explain?account=${aliceId}&service=oficina-femprocomuns`));
      expect(dedicated.body.decision).toMatchObject({ effect: 'allow', rule: { id: 'dedicated-services' } });

      const listed = await as('admin', request(app).get(`/api/v1/subscriptions?account=${aliceId}`));
      expect(listed.body.items.map((s: { id: string }) => s.id)).toEqual([created.body.id]);

      const bad = await as('admin', request(app).put(`/api/v1/subscriptions/${created.body.id}`).send({ holder: { account: aliceId }, plan: 'oficina-medium', from: 10, to: 5 }));
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatchObject({ code: 'invalid_subscription', fields: { to: 'must be after from' } });

      const updated = await as('admin', request(app).put(`/api/v1/subscriptions/${created.body.id}`).send({ holder: { account: aliceId }, plan: 'oficina-high', from: 0 }));
      expect(updated.body).toMatchObject({ plan: 'oficina-high', extraBlocks: 0 });
      const history = await as('admin', request(app).get(`/api/v1/subscriptions/${created.body.id}/history`));
      expect(history.body.items.map((h: { action: string; who: string }) => [h.action, h.who])).toEqual([['create', 'admin-1'], ['update', 'admin-1']]);
      const reverted = await as('admin', request(app).post(`/api/v1/subscriptions/${created.body.id}/revert/1`));
      expect(reverted.body.subscription).toEqual(created.body);
      expect((await as('manager', request(app).post(`/api/v1/subscriptions/${created.body.id}/revert/2`))).status).toBe(403);
      expect((await as('admin', request(app).delete(`/api/v1/subscriptions/${created.body.id}`))).status).toBe(204);
      expect((await as('admin', request(app).get(`/api/v1/subscriptions/${created.body.id}`))).status).toBe(404);
      expect((await as('admin', request(app).delete(`/api/v1/subscriptions/${created.body.id}`))).status).toBe(404);
    });

    it('explain names a missing or unknown account and service', async () => {
      const missing = await as('admin', request(app).get('/api/v1/policy/explain?service=agora'));
      expect(missing.status).toBe(400);
      expect(missing.body.error.fields).toEqual({ account: 'is required' });
      const unknown = await as('admin', request(app).get('/api/v1/policy/explain?account=nobody&service=agora'));
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.message).toContain('nobody');
      const noService = await as('admin', request(app).get('/api/v1/policy/explain?account=alice&service=wiki'));
      expect(noService.status).toBe(404);
    });
  });

  it('contributes an OpenAPI fragment for every route', () => {
    const { openapi } = policyRoutes({ policies, subscriptions, directory, services: [] });
    expect(Object.keys(openapi.paths).sort()).toEqual([
      '/policy', '/policy/explain', '/policy/history', '/policy/history/{version}', '/policy/revert/{version}',
      '/subscriptions', '/subscriptions/{id}', '/subscriptions/{id}/history', '/subscriptions/{id}/revert/{version}',
    ]);
    expect(openapi.components?.schemas?.PolicyDocument).toMatchObject({ type: 'object', required: expect.arrayContaining(['defaultPlan', 'plans', 'rules']) });
  });
});
