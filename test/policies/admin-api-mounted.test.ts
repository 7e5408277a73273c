/**
 * The policy routes mounted in the real admin API (createAdminApi): its Bearer authentication puts
 * the Caller in place, so refusals and the OpenAPI document are checked end to end.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { parseConfig } from '../../config/load.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { createDirectory } from '../../directory/index.ts';
import type { Directory } from '../../directory/types.ts';
import { AuditLog } from '../../directory/audit.ts';
import { OutboxMailer } from '../../directory/mail/outbox.ts';
import { AccountFlows } from '../../directory/accounts/account-flows.ts';
import { linksFor } from '../../directory/accounts/links.ts';
import { createAdminApi } from '../../admin-ui/api/index.ts';
import { policyRoutes } from '../../policies/admin-routes.ts';
import { PolicyStore } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';
import { edit, type Draft } from './draft.ts';

describe('policy routes inside createAdminApi', () => {
  let stores: Stores;
  let directory: Directory;
  let policies: PolicyStore;
  let app: express.Express;
  /** Test tokens: the token is looked up here; the real API verifies JWTs from the IdP. */
  const tokens = new Map<string, { sub: string; amr?: string[] }>();

  beforeAll(async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    const config = parseConfig({ services: [{ id: 'oficina', name: 'Oficina', upstream: 'http://127.0.0.1:9' }, { id: 'agora', name: 'Agora', upstream: 'http://127.0.0.1:9' }, { id: 'meetings', name: 'Meetings', upstream: 'http://127.0.0.1:9' }] });
    stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' }, { clock });
    directory = createDirectory(config, stores, { clock });
    const audit = new AuditLog(stores.ledger);
    const outbox = new OutboxMailer({ documents: stores.documents, from: 'porta@porta.test' });
    const flows = new AccountFlows({ directory, kv: stores.kv, documents: stores.documents, mailer: outbox, audit, links: linksFor('http://porta.test'), registration: 'open', ttl: config.directory.tokens });
    policies = await PolicyStore.open({ stores, clock, pollMs: 0, knownServices: config.services.map((s) => s.id) });
    const subscriptions = new SubscriptionStore({ stores, clock, policy: () => policies.current().document });
    const routes = policyRoutes({ policies, subscriptions, directory, services: config.services, clock });

    const admin = await directory.createAccount({ username: 'root', email: 'root@porta.test', name: 'Root', platformAdmin: true });
    const manager = await directory.createAccount({ username: 'marta', email: 'marta@porta.test', name: 'Marta' });
    const member = await directory.createAccount({ username: 'pau', email: 'pau@porta.test', name: 'Pau' });
    await directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: [] });
    await directory.addMember('femprocomuns', manager.id);
    await directory.setManager('femprocomuns', manager.id, true);
    await directory.addMember('femprocomuns', member.id);
    tokens.set('admin-token', { sub: admin.id, amr: ['pwd', 'otp'] });
    tokens.set('manager-token', { sub: manager.id });
    tokens.set('member-token', { sub: member.id });

    app = express();
    app.use(
      '/api/v1',
      createAdminApi({
        directory,
        flows,
        audit,
        outbox,
        broadcast: stores.broadcast,
        verifyAccessToken: async (token) => {
          const claims = tokens.get(token);
          if (!claims) throw new Error('unknown token');
          return claims;
        },
        extraRouters: [{ path: '/', router: routes.router, openapi: routes.openapi }],
      }),
    );
  });
  afterAll(async () => {
    await policies.close();
    await directory.close();
    await stores.close();
  });

  const bearer = (token?: string) => (token ? { authorization: `Bearer ${token}` } : {});

  it.each([
    ['manager', 'manager-token', 403],
    ['member', 'member-token', 403],
    ['anonymous', undefined, 401],
    ['a bad token', 'forged', 401],
  ] as const)('%s is refused on every policy write', async (_who, token, status) => {
    const writes = [
      request(app).put('/api/v1/policy').set(bearer(token)).send({ defaultPlan: 'free', plans: { free: { name: 'Free', storage: null } }, rules: [] }),
      request(app).post('/api/v1/policy/revert/1').set(bearer(token)),
      request(app).post('/api/v1/subscriptions').set(bearer(token)).send({ holder: { account: 'x' }, plan: 'oficina-high', from: 0 }),
      request(app).put('/api/v1/subscriptions/some-id').set(bearer(token)).send({ holder: { account: 'x' }, plan: 'oficina-high', from: 0 }),
      request(app).delete('/api/v1/subscriptions/some-id').set(bearer(token)),
    ];
    for (const res of await Promise.all(writes)) {
      expect(res.status).toBe(status);
      expect(res.body.error.message).toEqual(expect.any(String));
    }
    expect(policies.version).toBe(1);
    expect(await stores.documents.list('subscriptions')).toEqual([]);
  });

  it('a platform admin changes the policy; an invalid one is refused with the field named', async () => {
    const current = await request(app).get('/api/v1/policy').set(bearer('admin-token'));
    expect(current.status).toBe(200);
    const doc = structuredClone(current.body.document as Draft);
    edit(doc, 'plans.free.meetingMinutes', 'sixty');
    const refused = await request(app).put('/api/v1/policy').set(bearer('admin-token')).send(doc);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'invalid_policy', fields: { 'plans.free.meetingMinutes': expect.stringContaining('whole number') } });
    edit(doc, 'plans.free.meetingMinutes', 45);
    const accepted = await request(app).put('/api/v1/policy').set(bearer('admin-token')).set('If-Match', current.headers.etag).send(doc);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ version: 2, changes: [{ path: 'plans.free.meetingMinutes', before: 60, after: 45 }] });
    expect(policies.current().document.plans.free.meetingMinutes).toBe(45);
    // The change is in the same audit log the directory's changes are in.
    const audit = await new AuditLog(stores.ledger).list();
    expect(audit.items.at(-1)).toMatchObject({ action: 'policy.update', target: { type: 'policy', id: '2' }, after: { version: 2, changed: ['plans.free.meetingMinutes'] } });
  });

  it('the OpenAPI document lists the policy routes', async () => {
    const res = await request(app).get('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.paths)).toEqual(expect.arrayContaining(['/policy', '/policy/history', '/policy/history/{version}', '/policy/revert/{version}', '/policy/explain', '/subscriptions', '/subscriptions/{id}']));
    expect(res.body.components.schemas.PolicyDocument.required).toEqual(expect.arrayContaining(['defaultPlan', 'plans', 'rules']));
    expect(res.body.components.schemas.Error.required).toEqual(['error']);
  });
});
