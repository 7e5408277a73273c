import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import type { Caller } from '../../kernel/caller.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { createEmbeddedStores, type EmbeddedStores } from '../../store/index.ts';
import { createReporting } from '../../metering/reports.ts';
import { usageRoutes } from '../../metering/admin-routes.ts';
import { reportToCsv } from '../../metering/report-format.ts';
import { expectedReport, loadFixture, loadLedger } from './fixture.ts';

const caller = (overrides: Partial<Caller>): Caller => ({ accountId: 'x', username: 'x', platformAdmin: false, managerOf: [], memberOf: [], amr: ['pwd'], ...overrides });
const ADMIN = caller({ accountId: 'root', platformAdmin: true });
const MANAGER = caller({ accountId: 'erik', managerOf: ['coop-a'], memberOf: ['coop-a'] });
const ANNA = caller({ accountId: 'anna', memberOf: ['coop-a'] });

describe('usage admin routes', () => {
  let stores: EmbeddedStores;
  let app: express.Express;
  let as: Caller | undefined;
  const fixture = loadFixture();

  beforeAll(async () => {
    stores = await createEmbeddedStores({ path: ':memory:' });
    await loadLedger(stores.ledger, fixture.records);
    const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: async () => fixture.schedule, weights: fixture.weights });
    const { router, openapi } = usageRoutes({ reporting, clock: new ManualClock(Date.parse('2026-04-10T12:00:00Z')) });
    expect(Object.keys(openapi.paths)).toEqual(['/reports/{period}', '/usage', '/usage/weights', '/me/usage']);
    app = express();
    app.use((_req, res, next) => {
      if (as) res.locals.caller = as;
      next();
    });
    app.use('/api/v1', router);
  });
  afterAll(async () => {
    await stores.close();
  });

  it('gives platform admins the report as JSON and CSV', async () => {
    as = ADMIN;
    const json = await request(app).get('/api/v1/reports/2026-03').expect(200);
    expect(json.body).toEqual(expectedReport());
    const csv = await request(app).get('/api/v1/reports/2026-03?format=csv').expect(200);
    expect(csv.headers['content-type']).toMatch(/^text\/csv/);
    expect(csv.headers['content-disposition']).toContain('porta-report-2026-03.csv');
    expect(csv.text).toBe(reportToCsv(expectedReport()));
  });

  it('names the bad field', async () => {
    as = ADMIN;
    expect((await request(app).get('/api/v1/reports/2026-13').expect(400)).body.error.fields).toEqual({ period: 'expected YYYY-MM' });
    expect((await request(app).get('/api/v1/reports/2026-03?format=pdf').expect(400)).body.error.fields).toEqual({ format: 'must be json or csv' });
    expect((await request(app).get('/api/v1/usage?from=2026-03-40').expect(400)).body.error.fields).toEqual({ from: 'expected YYYY-MM-DD' });
    expect((await request(app).get('/api/v1/usage?from=2026-03-10&to=2026-03-01').expect(400)).body.error.fields).toEqual({ to: 'must not be before from' });
  });

  it('refuses reports to anyone but platform admins, and everything without a caller', async () => {
    as = MANAGER;
    expect((await request(app).get('/api/v1/reports/2026-03').expect(403)).body.error.message).toBe('Only platform admins may read billing reports.');
    as = undefined;
    await request(app).get('/api/v1/reports/2026-03').expect(401);
    await request(app).get('/api/v1/me/usage').expect(401);
  });

  it('shows managers the usage of their own collective only', async () => {
    as = MANAGER;
    const res = await request(app).get('/api/v1/usage?collective=coop-a&from=2026-03-01&to=2026-03-31').expect(200);
    expect(res.body.records).toBe(3);
    expect(res.body.rows.every((r: { collective: string }) => r.collective === 'coop-a')).toBe(true);
    await request(app).get('/api/v1/usage?collective=coop-b&from=2026-03-01&to=2026-03-31').expect(403);
    await request(app).get('/api/v1/usage?from=2026-03-01&to=2026-03-31').expect(403);
    as = ANNA;
    await request(app).get('/api/v1/usage?collective=coop-a').expect(403);
  });

  it('gives platform admins usage filtered by service over days, `to` included', async () => {
    as = ADMIN;
    const res = await request(app).get('/api/v1/usage?service=oficina&from=2026-03-31&to=2026-03-31').expect(200);
    expect(res.body).toMatchObject({ from: '2026-03-31', to: '2026-03-31', service: 'oficina', records: 1 }); // r-a3 at 23:59:59.999
  });

  it('lets an account download its own records, and only its own', async () => {
    as = ANNA;
    const res = await request(app).get('/api/v1/me/usage').expect(200);
    expect(res.headers['content-disposition']).toContain('porta-usage.json');
    const ids = res.body.records.map((r: { id: string }) => r.id);
    expect(ids).toEqual(['r-a-feb', 'r-k1', 'r-a1', 'r-a5', 'r-a2', 'r-a6', 'r-a4', 'r-a3', 'r-a-apr']);
    expect(res.body.records.every((r: { subject: string }) => r.subject === 'anna')).toBe(true);
    // What a record holds: nothing about the request beyond its route class.
    expect(Object.keys(res.body.records[2]).sort()).toEqual(['durationMs', 'id', 'kind', 'method', 'routeClass', 'service', 'status', 'subject', 'time', 'units']);
  });

  it('says which subscription is broken when a report cannot be made', async () => {
    as = ADMIN;
    const reporting = createReporting({
      ledger: stores.ledger,
      documents: stores.documents,
      schedule: async () => ({ ...fixture.schedule, subscriptions: [{ id: 's-x', holder: { account: 'zoe' }, plan: 'gone', extraBlocks: 0, from: 0, coversMembers: false }] }),
    });
    const broken = express();
    broken.use((_req, res, next) => ((res.locals.caller = ADMIN), next()));
    broken.use('/api/v1', usageRoutes({ reporting }).router);
    const res = await request(broken).get('/api/v1/reports/2026-03').expect(409);
    expect(res.body.error.message).toContain('Subscription s-x names plan "gone"');
  });

  it('lets platform admins set the weights, validated', async () => {
    as = ADMIN;
    expect((await request(app).get('/api/v1/usage/weights').expect(200)).body).toEqual(fixture.weights);
    const bad = await request(app).put('/api/v1/usage/weights').send({ ...fixture.weights, hostMinutes: -1, requests: 'many' }).expect(400);
    expect(Object.keys(bad.body.error.fields).sort()).toEqual(['hostMinutes', 'requests']);
    await request(app).put('/api/v1/usage/weights').send({ requests: 1 }).expect(400);
    const weights = { ...fixture.weights, hostMinutes: 0 };
    await request(app).put('/api/v1/usage/weights').send(weights).expect(200);
    const report = (await request(app).get('/api/v1/reports/2026-03').expect(200)).body;
    expect(report.weights).toEqual(weights);
    // carla's meeting now weighs nothing: her 1745 splits between agora and oficina (10 and 10).
    const carla = report.subscribers.find((s: { holder: { id: string } }) => s.holder.id === 'carla');
    expect(carla.split).toEqual([{ service: 'agora', cents: 873 }, { service: 'oficina', cents: 872 }]);
    as = MANAGER;
    await request(app).put('/api/v1/usage/weights').send(weights).expect(403);
    as = ADMIN;
    await request(app).put('/api/v1/usage/weights').send(fixture.weights).expect(200);
  });
});
