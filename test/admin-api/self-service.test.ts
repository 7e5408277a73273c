/**
 * The self-service endpoints of the admin API over a whole Porta started in-process (real IdP, real
 * gateway, embedded store, metering): admin-API tokens signed with the IdP's own key, gateway sessions
 * from real sign-ins through the gateway.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import { startEchoUpstream, type EchoUpstream } from '../gateway/helpers/echo-upstream.ts';
import { Browser, readForm } from '../idp/helpers/browser.ts';
import { gatewayClientSecret } from '../../idp/index.ts';
import { loadSigningKeys } from '../../idp/provider/keys.ts';
import { randomToken } from '../../kernel/ids.ts';
import { importJWK, SignJWT } from 'jose';
import type { Account } from '../../directory/types.ts';

const PASSWORD = 'correct horse battery staple';
const CLIENT_SECRET = 'nextcloud-secret-0123456789';

let porta: TestPorta;
let upstream: EchoUpstream;
let admin: Account;
let member: Account;
let leaver: Account;
const tokens: Record<string, string> = {};

/**
 * An admin-API access token (RFC 9068 JWT) signed with this Porta's own IdP signing key from the
 * store, with the claims a sign-in through the admin UI gives. Signed here rather than obtained
 * through the login pages so that the second-factor enrolment platform admins go through (another
 * suite's subject) stays out of this one; the admin API verifies it exactly as in production.
 */
async function adminApiToken(accountId: string): Promise<string> {
  const [jwk] = await loadSigningKeys(porta.platform.stores.documents);
  if (!jwk) throw new Error('the IdP has no signing key');
  const key = await importJWK(jwk, 'RS256');
  return new SignJWT({ client_id: 'porta-admin-ui', scope: 'openid', amr: ['pwd'], jti: randomToken(12) })
    .setProtectedHeader({ alg: 'RS256', typ: 'at+jwt', kid: jwk.kid })
    .setIssuer(porta.issuer)
    .setAudience(porta.config.idp.adminAudience)
    .setSubject(accountId)
    .setIssuedAt()
    .setExpirationTime('10m')
    .sign(key);
}

/** Only a signed-in person may post to the Agora (the default policy): 200 with a session, a sign-in redirect without. */
const postToAgora = (browser: Browser) => browser.request(`${porta.gatewayUrl}/agora/x`, { method: 'POST', form: {} });

/** Signs in through the gateway; the browser then holds a gateway session cookie. */
async function gatewaySignIn(login: string): Promise<Browser> {
  const browser = new Browser();
  const loginPage = await browser.follow(`${porta.gatewayUrl}/_porta/start?rd=/agora/start`);
  const form = readForm(loginPage, '/login');
  const page = await browser.follow(form.action, [], { form: { ...form.fields, login, password: PASSWORD } });
  expect(page.status).toBe(200);
  return browser;
}

function api(who: string) {
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${porta.issuer}/api/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${tokens[who]}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked field by field
    return { status: res.status, headers: res.headers, text, body: (text ? JSON.parse(text) : undefined) as any };
  };
  return {
    get: (path: string) => call('GET', path),
    post: (path: string, body: unknown = {}) => call('POST', path, body),
    delete: (path: string) => call('DELETE', path),
  };
}

beforeAll(async () => {
  upstream = await startEchoUpstream();
  porta = await startTestPorta({
    config: {
      services: [
        { id: 'oficina', name: 'Oficina', kind: 'webdav', upstream: 'http://127.0.0.1:9', host: 'oficina.test', dedicated: true },
        { id: 'agora', name: 'Agora', kind: 'generic', upstream: upstream.url, pathPrefix: '/agora' },
        { id: 'meetings', name: 'Meetings', kind: 'bbb', upstream: 'http://127.0.0.1:9', host: 'meetings.test' },
      ],
      idp: {
        clients: [{ clientId: 'nextcloud', clientSecret: CLIENT_SECRET, name: 'Nextcloud', redirectUris: ['https://cloud.test/apps/user_oidc/code'], firstParty: true }],
      },
    },
  });
  const { directory, subscriptions } = porta.platform;
  admin = (await directory.getAccount(await porta.createAdmin('root', PASSWORD)))!;
  const make = (username: string) => directory.createAccount({ username, email: `${username}@example.coop`, name: username, password: PASSWORD, emailVerified: true });
  member = await make('marta');
  leaver = await make('lluis');
  await directory.createCollective({ id: 'coop', name: 'Coop', services: ['oficina'] });
  await directory.addMember('coop', member.id);
  await subscriptions.create({ holder: { account: member.id }, plan: 'oficina-basic', extraBlocks: 1, from: Date.now() - 86_400_000 }, admin.id);
  tokens.admin = await adminApiToken(admin.id);
  tokens.member = await adminApiToken(member.id);
  tokens.leaver = await adminApiToken(leaver.id);
  // The token is the real thing: the admin API's own verification accepts it.
  await expect(porta.idp!.verifyAccessToken(tokens.member, porta.config.idp.adminAudience)).resolves.toMatchObject({ sub: member.id });
}, 60_000);

afterAll(async () => {
  await porta?.close();
  await upstream?.close();
});

describe('the OpenAPI document lists every self-service endpoint (the admin UI shows features from it)', () => {
  it('has the operations the UI looks for', async () => {
    const res = await fetch(`${porta.issuer}/api/v1/openapi.json`);
    const doc = (await res.json()) as { paths: Record<string, Record<string, unknown>> };
    for (const [method, path] of [
      ['get', '/me/plan'],
      ['get', '/me/sessions'],
      ['delete', '/me/sessions/{id}'],
      ['get', '/me/export'],
      ['get', '/services'],
      ['get', '/clients'],
      ['post', '/accounts/{id}/password-reset'],
    ] as const) {
      expect(doc.paths[path]?.[method]).toBeDefined();
    }
  });
});

describe('GET /me/plan', () => {
  it('gives the plans and every limit, with storage "not known" until a sample exists', async () => {
    const policy = porta.platform.policies.current().document;
    const res = await api('member').get('/me/plan');
    expect(res.status).toBe(200);
    expect(res.body.plans).toEqual([
      { id: 'free', name: policy.plans.free.name },
      { id: 'oficina-basic', name: policy.plans['oficina-basic'].name },
    ]);
    const storageLimit = (policy.plans['oficina-basic'].storage as number) + policy.extraStorageBlock!.bytes;
    expect(res.body.quotas).toEqual([
      { id: 'storage', unit: 'bytes', used: null, limit: storageLimit },
      { id: 'meetingMinutes', unit: 'minutes', used: 0, limit: 60 },
      { id: 'hostedMinutesPerDay', unit: 'minutes', used: 0, limit: 120 },
      { id: 'recordingStorage', unit: 'bytes', used: null, limit: 0 },
    ]);
  });

  it('counts the latest storage sample, the longest meeting this month and the minutes hosted today', async () => {
    const { recorder } = porta.platform.metering;
    const now = Date.now();
    expect(recorder.record({ subject: member.id, service: 'oficina', kind: 'storage', units: { storageByteDays: 1000 }, time: now - 2 * 86_400_000 })).toBe(true);
    expect(recorder.record({ subject: member.id, service: 'oficina', kind: 'storage', units: { storageByteDays: 123_456 }, time: now })).toBe(true);
    expect(recorder.record({ subject: member.id, service: 'meetings', kind: 'meeting', units: { hostMinutes: 30, participantMinutes: 90 }, time: now })).toBe(true);
    expect(recorder.record({ subject: member.id, service: 'meetings', kind: 'meeting', units: { hostMinutes: 20 }, time: now })).toBe(true);
    // Someone else's use never counts.
    expect(recorder.record({ subject: admin.id, service: 'meetings', kind: 'meeting', units: { hostMinutes: 55 }, time: now })).toBe(true);
    expect(await recorder.flush()).toBe(true);
    const res = await api('member').get('/me/plan');
    const byId = Object.fromEntries((res.body.quotas as Array<{ id: string; used: number | null }>).map((q) => [q.id, q.used]));
    expect(byId).toEqual({ storage: 123_456, meetingMinutes: 30, hostedMinutesPerDay: 50, recordingStorage: null });
  });
});

describe('GET /services and GET /clients', () => {
  it('lists the services to any signed-in caller', async () => {
    const res = await api('member').get('/services');
    expect(res.status).toBe(200);
    expect(res.body.items).toEqual([
      { id: 'oficina', name: 'Oficina', kind: 'webdav', dedicated: true },
      { id: 'agora', name: 'Agora', kind: 'generic', dedicated: false },
      { id: 'meetings', name: 'Meetings', kind: 'bbb', dedicated: false },
    ]);
  });

  it('lists configured and built-in clients to platform admins, without any secret', async () => {
    expect((await api('member').get('/clients')).status).toBe(403);
    const res = await api('admin').get('/clients');
    expect(res.status).toBe(200);
    const byId = Object.fromEntries((res.body.items as Array<{ clientId: string }>).map((c) => [c.clientId, c]));
    expect(byId.nextcloud).toEqual({
      clientId: 'nextcloud',
      name: 'Nextcloud',
      redirectUris: ['https://cloud.test/apps/user_oidc/code'],
      postLogoutRedirectUris: [],
      grantTypes: ['authorization_code', 'refresh_token'],
      tokenEndpointAuthMethod: 'client_secret_basic',
      public: false,
      firstParty: true,
      builtIn: false,
    });
    expect(byId['porta-admin-ui']).toMatchObject({ public: true, firstParty: true, builtIn: 'admin-ui', redirectUris: [`${porta.issuer}/admin/callback`] });
    expect(byId['porta-gateway']).toMatchObject({ public: false, builtIn: 'gateway' });
    const gatewaySecret = await gatewayClientSecret(porta.config, porta.platform.stores.documents);
    expect(res.text).not.toContain(CLIENT_SECRET);
    expect(res.text).not.toContain(gatewaySecret);
    expect(res.text).not.toMatch(/"client_?secret"|clientSecret/i);
  });
});

describe('POST /accounts/{id}/password-reset', () => {
  it('is refused to anyone but platform admins, and names a missing account', async () => {
    expect((await api('member').post(`/accounts/${leaver.id}/password-reset`)).status).toBe(403);
    const missing = await api('admin').post('/accounts/no-such-account/password-reset');
    expect(missing.status).toBe(404);
    const extra = await api('admin').post(`/accounts/${member.id}/password-reset`, { password: 'x' });
    expect(extra.status).toBe(400);
    expect(extra.body.error.fields).toHaveProperty('password');
    expect((await porta.platform.accounts.outbox!.list({ to: member.email })).total).toBe(0);
  });

  it('mails a reset link to the account and audits who asked', async () => {
    const res = await api('admin').post(`/accounts/${member.id}/password-reset`);
    expect(res.status).toBe(202);
    const mails = await porta.platform.accounts.outbox!.list({ to: member.email });
    expect(mails.total).toBe(1);
    expect(mails.items[0]!.text).toContain('/reset-password');
    const audit = await porta.platform.accounts.audit.list({ limit: 1000 });
    expect(audit.items.filter((r) => r.action === 'account.password-reset-request')).toEqual([
      expect.objectContaining({ actor: admin.id, target: { type: 'account', id: member.id } }),
    ]);
  });
});

describe('GET /me/sessions and DELETE /me/sessions/{id}', () => {
  it('lists the caller\'s gateway sessions without cookies or tokens, and ends one in every gateway process', async () => {
    const laptop = await gatewaySignIn('marta');
    const [laptopSession] = (await api('member').get('/me/sessions')).body.items as Array<{ id: string }>;
    const phone = await gatewaySignIn('marta');
    const others = await gatewaySignIn('lluis');
    const listed = await api('member').get('/me/sessions');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toHaveLength(2);
    for (const s of listed.body.items as Array<Record<string, unknown>>) {
      expect(Object.keys(s).sort()).toEqual(['clientName', 'createdAt', 'expiresAt', 'id', 'kind', 'lastSeen']);
      expect(s.createdAt).toEqual(expect.any(Number));
      // The public id is not the store key.
      expect(await porta.platform.stores.kv.get(`gw:session:${String(s.id)}`)).toBeUndefined();
    }
    expect(listed.text).not.toMatch(/eyJ|token/i);
    const newest = (listed.body.items as Array<{ id: string }>).find((x) => x.id !== laptopSession!.id)!;

    // Another person cannot end it.
    expect((await api('leaver').delete(`/me/sessions/${newest.id}`)).status).toBe(404);
    expect((await postToAgora(phone)).status).toBe(200);

    expect((await api('member').delete(`/me/sessions/${newest.id}`)).status).toBe(204);
    // That was the phone's: the gateway (whose cache had it) treats the phone as signed out at once.
    const after = await postToAgora(phone);
    const anonymous = await postToAgora(new Browser());
    expect(anonymous.status).not.toBe(200);
    expect(after.status).toBe(anonymous.status);
    expect(upstream.seen.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect((await postToAgora(laptop)).status).toBe(200);
    expect((await postToAgora(others)).status).toBe(200);
    const left = await api('member').get('/me/sessions');
    expect(left.body.items.map((s: { id: string }) => s.id)).not.toContain(newest.id);
    expect(left.body.items).toHaveLength(1);
    expect((await api('member').delete(`/me/sessions/${newest.id}`)).status).toBe(404);
    expect((await api('member').delete('/me/sessions/not-an-id')).status).toBe(404);
  });
});

describe('GET /me/export', () => {
  it('is one JSON download of the caller\'s account, memberships, subscriptions, usage and audit entries', async () => {
    const res = await api('member').get('/me/export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="?porta-export\.json"?$/);
    expect(res.body.account).toMatchObject({ id: member.id, username: 'marta', email: member.email });
    expect(res.body.memberships).toEqual([expect.objectContaining({ collectiveId: 'coop' })]);
    expect(res.body.subscriptions).toEqual([expect.objectContaining({ holder: { account: member.id }, plan: 'oficina-basic' })]);
    const records = res.body.usage.records as Array<{ subject: string; units: Record<string, number> }>;
    expect(records.length).toBeGreaterThanOrEqual(4);
    expect(records.every((r) => r.subject === member.id)).toBe(true);
    expect(res.body.audit.items.map((r: { action: string }) => r.action)).toContain('account.password-reset-request');
    expect(res.text).not.toContain(admin.email);
    expect(res.text).not.toContain(leaver.id);
  });
});

describe('deleting an account through the admin API', () => {
  it('keeps its usage only under the anonymous id', async () => {
    const { recorder } = porta.platform.metering;
    expect(recorder.record({ subject: leaver.id, service: 'agora', kind: 'request', units: { requests: 7 } })).toBe(true);
    expect(await recorder.flush()).toBe(true);
    const day = new Date().toISOString().slice(0, 10);
    const before = await api('admin').get(`/usage?from=${day}&to=${day}`);
    type Row = { subject: string; service: string; units: Record<string, number> };
    const leaverRows = (before.body.rows as Row[]).filter((r) => r.subject === leaver.id);
    expect(leaverRows.find((r) => r.service === 'agora')?.units.requests).toBeGreaterThanOrEqual(7);

    const deleted = await api('admin').delete(`/accounts/${leaver.id}`);
    expect(deleted.status).toBe(200);
    const anonymousId = deleted.body.anonymousId as string;
    expect(anonymousId).toEqual(expect.any(String));
    expect(anonymousId).not.toBe(leaver.id);

    const after = await api('admin').get(`/usage?from=${day}&to=${day}`);
    const subjects = after.body.rows.map((r: { subject: string }) => r.subject);
    expect(subjects).not.toContain(leaver.id);
    // The same rows, under the anonymous id.
    expect((after.body.rows as Row[]).filter((r) => r.subject === anonymousId)).toEqual(leaverRows.map((r) => ({ ...r, subject: anonymousId })));
    expect(after.text).not.toContain(leaver.id);
  });
});
