/**
 * Second factors end to end, on a whole Porta (IdP, admin API, gateway) over real HTTP with the
 * embedded store and an injected ManualClock: TOTP enrolment with a code computed here from the
 * secret the page shows, sign-in with it, a reused code and a code outside the window refused,
 * recovery codes used once, wrong codes counted by the login throttle, platform admins sent to
 * enrolment before the admin UI gets a code, `amr`/`acr` in the ID token, `acr_values` asking for a
 * second factor, the gateway's `factors: two` rule, and the admin API's audited reset.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { ManualClock } from '../../kernel/clock.ts';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import { Browser, readForm, type Page } from './helpers/browser.ts';
import { startEchoUpstream, type EchoUpstream } from '../gateway/helpers/echo-upstream.ts';
import { totpCode, totpStep, TOTP_STEP_SECONDS } from '../../idp/factors/totp.ts';
import { ADMIN_UI_CLIENT_ID, ADMIN_RESOURCE } from '../../idp/index.ts';
import { FACTOR_CATALOGUES } from '../../idp/factors/i18n.ts';
import { secondFactorRequired, validatePolicy, type PolicyDocument } from '../../policies/index.ts';

const PASSWORD = 'correct horse battery staple';
const APP = { clientId: 'app', secret: 'app-secret-0123456789abcdef', redirectUri: 'http://127.0.0.1:9/cb' };
const clock = new ManualClock(Date.now());
let porta: TestPorta;
let upstream: EchoUpstream;
const ids: Record<string, string> = {};

function decodeJwt(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

interface Flow {
  browser: Browser;
  verifier: string;
  client: { clientId: string; secret?: string; redirectUri: string };
}

/** Starts an authorization request and follows it to the first page the IdP shows. */
async function authorize(browser: Browser, client: Flow['client'], extra: Record<string, string> = {}): Promise<{ flow: Flow; page: Page }> {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    client_id: client.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: client.redirectUri,
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
    ...extra,
  });
  const page = await browser.follow(`${porta.issuer}/auth?${params.toString()}`, [client.redirectUri]);
  return { flow: { browser, verifier, client }, page };
}

async function submit(flow: Flow, page: Page, actionContains: string, fields: Record<string, string>): Promise<Page> {
  const form = readForm(page, actionContains);
  return flow.browser.follow(form.action, [flow.client.redirectUri], { form: { ...form.fields, ...fields } });
}

/** The tokens for the code the flow ended with. */
async function tokens(flow: Flow, page: Page): Promise<{ id: Record<string, unknown>; accessToken: string }> {
  expect(page.location?.startsWith(flow.client.redirectUri)).toBe(true);
  const code = new URL(page.location!).searchParams.get('code');
  expect(code).toBeTruthy();
  const body = new URLSearchParams({ grant_type: 'authorization_code', code: code!, redirect_uri: flow.client.redirectUri, code_verifier: flow.verifier });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (flow.client.secret) headers.authorization = `Basic ${Buffer.from(`${flow.client.clientId}:${flow.client.secret}`).toString('base64')}`;
  else body.set('client_id', flow.client.clientId);
  const res = await fetch(`${porta.issuer}/token`, { method: 'POST', headers, body });
  const json = (await res.json()) as { id_token: string; access_token: string };
  expect(res.status).toBe(200);
  return { id: decodeJwt(json.id_token), accessToken: json.access_token };
}

function secretOn(page: Page): string {
  const match = /<code data-secret>([A-Z2-7 ]+)<\/code>/.exec(page.body);
  if (!match) throw new Error(`no TOTP secret on ${page.url} (${page.status}):\n${page.body.slice(0, 400)}`);
  return (match[1] ?? '').replace(/\s/g, '');
}

function recoveryCodesOn(page: Page): string[] {
  return [...page.body.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1] ?? '');
}

const codeNow = (secret: string, offsetSteps = 0) => totpCode(secret, totpStep(clock.now()) + offsetSteps);
const nextStep = () => clock.advance(TOTP_STEP_SECONDS * 1000);

/** Password sign-in to `app` in a fresh browser; returns the page after the password. */
async function passwordStep(login: string, extra: Record<string, string> = {}): Promise<{ flow: Flow; page: Page }> {
  const { flow, page } = await authorize(new Browser(), APP, extra);
  return { flow, page: await submit(flow, page, '/login', { login, password: PASSWORD }) };
}

/** Sets up TOTP for a member on /account/factors (after a password sign-in); returns secret and recovery codes. */
async function enrolOnAccountPage(login: string): Promise<{ secret: string; codes: string[] }> {
  const { flow, page } = await passwordStep(login);
  await tokens(flow, page);
  const factorsPage = await flow.browser.request(`${porta.issuer}/account/factors`);
  expect(factorsPage.status).toBe(200);
  const secret = secretOn(factorsPage);
  const done = await submit(flow, factorsPage, '/account/factors', { method: 'otp', code: codeNow(secret) });
  expect(done.status).toBe(200);
  const codes = recoveryCodesOn(done);
  expect(codes).toHaveLength(10);
  return { secret, codes };
}

beforeAll(async () => {
  upstream = await startEchoUpstream();
  porta = await startTestPorta({
    clock,
    config: {
      idp: {
        clients: [{ clientId: APP.clientId, clientSecret: APP.secret, redirectUris: [APP.redirectUri], firstParty: true }],
        loginThrottle: { consecutiveFailures: 5, blockSeconds: 600, failuresPerIpPerDay: 1000 },
      },
      services: [{ id: 'vault', name: 'Vault', upstream: upstream.url, pathPrefix: '/vault' }],
    },
  });
  const { directory, policies } = porta.platform;
  ids.admin = await porta.createAdmin('ada', PASSWORD);
  for (const name of ['mia', 'max', 'tess', 'rita', 'gina', 'gus', 'acr', 'mona', 'paul']) {
    ids[name] = (await directory.createAccount({ username: name, email: `${name}@example.coop`, name, password: PASSWORD, emailVerified: true })).id;
  }
  await directory.createCollective({ id: 'ateneu', name: 'Ateneu', services: [] });
  for (const name of ['mona', 'paul']) await directory.addMember('ateneu', ids[name]!);
  await directory.setManager('ateneu', ids.mona!, true);
  const current = policies.current().document;
  await policies.update(
    {
      ...current,
      rules: [
        { id: 'vault-two-factors', services: ['vault'], subjects: ['authenticated'], factors: 'two', effect: 'allow' },
        { id: 'vault-others', services: ['vault'], subjects: ['public'], effect: 'deny', reason: 'The vault needs a sign-in with a second factor.' },
        ...current.rules,
      ],
    },
    'test',
  );
}, 60_000);

afterAll(async () => {
  await porta?.close();
  await upstream?.close();
});

describe('TOTP', () => {
  it('enrols with a computed code, signs in with it; a reused code and one outside the window are refused; amr and acr say two factors', async () => {
    const { secret } = await enrolOnAccountPage('mia');

    const { flow, page } = await passwordStep('mia');
    expect(page.status).toBe(200);
    expect(page.url).toMatch(/\/interaction\/[^/]+\/second-factor$/);
    // The enrolment code's step is used: the same code (same step) is refused.
    const reused = await submit(flow, page, '/second-factor', { code: codeNow(secret) });
    expect(reused.status).toBe(401);
    expect(reused.body).toContain('already used');
    // Two steps ahead is outside the ±1 window.
    nextStep();
    const outside = await submit(flow, reused, '/second-factor', { code: codeNow(secret, 2) });
    expect(outside.status).toBe(401);
    const stale = await submit(flow, outside, '/second-factor', { code: codeNow(secret, -3) });
    expect(stale.status).toBe(401);
    // One step late (the phone's clock drifts) is inside the window.
    nextStep();
    const ok = await submit(flow, stale, '/second-factor', { code: codeNow(secret, -1) });
    const { id } = await tokens(flow, ok);
    expect(id.sub).toBe(ids.mia);
    expect(id.amr).toEqual(['pwd', 'otp']);
    expect(id.acr).toBe('urn:porta:acr:2fa');
  });

  it('a recovery code works once', async () => {
    const { codes } = await enrolOnAccountPage('max');
    const first = await passwordStep('max');
    const signedIn = await submit(first.flow, first.page, '/second-factor', { method: 'recovery', code: codes[3]!.toUpperCase() });
    const { id } = await tokens(first.flow, signedIn);
    expect(id.amr).toEqual(['pwd', 'otp']);

    const second = await passwordStep('max');
    const again = await submit(second.flow, second.page, '/second-factor', { method: 'recovery', code: codes[3]! });
    expect(again.status).toBe(401);
    expect(again.location).toBeUndefined();
    const other = await submit(second.flow, again, '/second-factor', { method: 'recovery', code: codes[4]! });
    expect((await tokens(second.flow, other)).id.sub).toBe(ids.max);
    expect((await porta.idp!.factors.summary(ids.max!)).recoveryCodesLeft).toBe(8);
  });

  it('wrong codes count toward the login throttle, and the secret is never shown again nor stored in clear', async () => {
    const { secret } = await enrolOnAccountPage('tess');
    const { flow, page } = await passwordStep('tess');
    let current = page;
    for (let i = 0; i < 5; i += 1) {
      current = await submit(flow, current, '/second-factor', { code: '000000' === codeNow(secret) ? '111111' : '000000' });
      expect(current.status).toBe(401);
    }
    nextStep();
    const blocked = await submit(flow, current, '/second-factor', { code: codeNow(secret) });
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toBeTruthy();
    // The password form is blocked too (same throttle).
    const retry = await authorize(new Browser(), APP);
    const byPassword = await submit(retry.flow, retry.page, '/login', { login: 'tess', password: PASSWORD });
    expect(byPassword.status).toBe(429);

    const stored = JSON.stringify(await porta.platform.stores.documents.get('factors', ids.tess!));
    expect(stored).not.toContain(secret);
    const summary = await porta.idp!.factors.summary(ids.tess!);
    expect(JSON.stringify(summary)).not.toContain(secret);
    expect(summary.totp).not.toBeNull();
  });
});

describe('languages', () => {
  it('the code page speaks Catalan and Spanish', async () => {
    const { flow, page } = await passwordStep('mia');
    const ca = await flow.browser.request(`${page.url}?lang=ca`);
    expect(ca.body).toContain('Confirma que ets tu');
    expect(ca.body).toContain('lang="ca"');
    const es = await flow.browser.request(`${page.url}?lang=es`);
    expect(es.body).toContain('Confirma que eres tú');
  });
});

describe('policy: who must enrol', () => {
  it('a platform admin without a second factor is sent to enrolment before the admin UI gets a code', async () => {
    const redirectUri = `${porta.issuer}/admin/callback`;
    const { flow, page } = await authorize(new Browser(), { clientId: ADMIN_UI_CLIENT_ID, redirectUri }, { resource: ADMIN_RESOURCE });
    const afterPassword = await submit(flow, page, '/login', { login: 'ada', password: PASSWORD });
    expect(afterPassword.location).toBeUndefined();
    expect(afterPassword.url).toMatch(/\/interaction\/[^/]+\/enrol$/);
    expect(afterPassword.body).toContain('must be protected with a second factor');
    expect(afterPassword.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(afterPassword.body).toContain('<svg');
    // Skipping enrolment does not finish the sign-in.
    const skip = await flow.browser.request(afterPassword.url.replace(/\/enrol$/, '/enrol/done'), { form: readForm(afterPassword, '/enrol').fields });
    expect(skip.status).toBe(303);
    expect(skip.location).toMatch(/\/enrol$/);
    // A wrong first code is refused.
    const secret = secretOn(afterPassword);
    const wrong = await submit(flow, afterPassword, '/enrol', { code: codeNow(secret, 5) });
    expect(wrong.status).toBe(401);
    expect(secretOn(wrong)).toBe(secret);
    const codesPage = await submit(flow, wrong, '/enrol', { code: codeNow(secret) });
    expect(recoveryCodesOn(codesPage)).toHaveLength(10);
    const done = await submit(flow, codesPage, '/enrol/done', {});
    const { id, accessToken } = await tokens(flow, done);
    expect(id.amr).toEqual(['pwd', 'otp']);
    ids.adminToken = accessToken;
    expect(decodeJwt(accessToken).amr).toEqual(['pwd', 'otp']);
    const me = await fetch(`${porta.issuer}/api/v1/me/factors`, { headers: { authorization: `Bearer ${accessToken}` } });
    expect(me.status).toBe(200);
    const body = (await me.json()) as { totp: unknown; recoveryCodesLeft: number; enrolUrl: string };
    expect(body.totp).not.toBeNull();
    expect(body.recoveryCodesLeft).toBe(10);
    expect(body.enrolUrl).toBe('/account/factors');
  });

  it('a member may sign in with the password alone, and gets amr pwd and acr 1fa', async () => {
    const { flow, page } = await passwordStep('rita');
    const { id } = await tokens(flow, page);
    expect(id.amr).toEqual(['pwd']);
    expect(id.acr).toBe('urn:porta:acr:1fa');
  });

  it('a client asking acr_values=urn:porta:acr:2fa gets a second factor, also over an existing one-factor session', async () => {
    const discovery = (await (await fetch(`${porta.issuer}/.well-known/openid-configuration`)).json()) as { acr_values_supported: string[] };
    expect(discovery.acr_values_supported).toEqual(expect.arrayContaining(['urn:porta:acr:1fa', 'urn:porta:acr:2fa']));

    const { flow, page } = await passwordStep('acr');
    expect((await tokens(flow, page)).id.acr).toBe('urn:porta:acr:1fa');
    // Same browser, same session: asking for two factors shows the login again, then enrolment.
    const again = await authorize(flow.browser, APP, { acr_values: 'urn:porta:acr:2fa' });
    expect(again.page.body).toContain('name="password"');
    const enrol = await submit(again.flow, again.page, '/login', { login: 'acr', password: PASSWORD });
    expect(enrol.url).toMatch(/\/enrol$/);
    expect(enrol.body).not.toContain('must be protected');
    const codes = await submit(again.flow, enrol, '/enrol', { code: codeNow(secretOn(enrol)) });
    const done = await submit(again.flow, codes, '/enrol/done', {});
    const { id } = await tokens(again.flow, done);
    expect(id.acr).toBe('urn:porta:acr:2fa');
    expect(id.amr).toEqual(['pwd', 'otp']);
  });

  it('secondFactorRequired: roles by default, plans and collectives when the policy says so', () => {
    const base = { plans: [], extraStorageBlocks: 0, collectives: [], grants: {}, amr: [] };
    const defaults = validatePolicy({ defaultPlan: 'free', plans: { free: { name: 'Free' } }, rules: [] });
    expect(defaults.ok).toBe(true);
    const policy = (defaults as { policy: PolicyDocument }).policy;
    expect(policy.secondFactor?.requiredForRoles).toEqual(['platform-admin', 'manager']);
    expect(secondFactorRequired({ ...base, subject: 'a', roles: ['platform-admin'] }, policy)).toBe(true);
    expect(secondFactorRequired({ ...base, subject: 'a', roles: ['manager', 'member'] }, policy)).toBe(true);
    expect(secondFactorRequired({ ...base, subject: 'a', roles: ['member'] }, policy)).toBe(false);
    expect(secondFactorRequired({ ...base, roles: [] }, policy)).toBe(false);
    const strict = { secondFactor: { requiredForRoles: [], requiredForPlans: ['oficina-high'], requiredForCollectives: ['ateneu'] } };
    expect(secondFactorRequired({ ...base, subject: 'a', roles: ['platform-admin'] }, strict)).toBe(false);
    expect(secondFactorRequired({ ...base, subject: 'a', roles: ['member'], plans: ['oficina-high'] }, strict)).toBe(true);
    expect(secondFactorRequired({ ...base, subject: 'a', roles: ['member'], collectives: ['ateneu'] }, strict)).toBe(true);
    const bad = validatePolicy({ defaultPlan: 'free', plans: { free: { name: 'Free' } }, rules: [], secondFactor: { requiredForRoles: ['boss'] } });
    expect(bad.ok).toBe(false);
    expect(JSON.stringify(bad)).toContain('secondFactor.requiredForRoles.0');
  });
});

describe('gateway: factors: two', () => {
  it('refuses a password-only session and allows a session signed in with a second factor', async () => {
    const password = new Browser();
    const first = await password.request(`${porta.gatewayUrl}/vault/report`, { headers: { accept: 'text/html' } });
    expect(first.status).toBe(302);
    const loginPage = await password.follow(first.location!);
    const login = readForm(loginPage, '/login');
    const refused = await password.follow(login.action, [], { form: { ...login.fields, login: 'gina', password: PASSWORD } });
    expect(refused.url).toBe(`${porta.gatewayUrl}/vault/report`);
    expect(refused.status).toBe(403);
    expect(upstream.seen.some((s) => s.url.includes('/vault/report'))).toBe(false);

    const { secret } = await enrolOnAccountPage('gus');
    nextStep();
    const twoFactor = new Browser();
    const start = await twoFactor.request(`${porta.gatewayUrl}/vault/report`, { headers: { accept: 'text/html' } });
    const page = await twoFactor.follow(start.location!);
    const form = readForm(page, '/login');
    const codePage = await twoFactor.follow(form.action, [], { form: { ...form.fields, login: 'gus', password: PASSWORD } });
    expect(codePage.url).toMatch(/\/second-factor$/);
    const codeForm = readForm(codePage, '/second-factor');
    const allowed = await twoFactor.follow(codeForm.action, [], { form: { ...codeForm.fields, code: codeNow(secret) } });
    expect(allowed.url).toBe(`${porta.gatewayUrl}/vault/report`);
    expect(allowed.status).toBe(200);
    expect(upstream.seen.some((s) => s.url.includes('/vault/report'))).toBe(true);
  });
});

describe('admin API: resetting factors', () => {
  it('a manager may not reset factors; a platform admin may, audited; afterwards the password alone is asked', async () => {
    // mona manages a collective: she too is sent to enrolment at her first sign-in.
    const redirectUri = `${porta.issuer}/admin/callback`;
    const mona = await authorize(new Browser(), { clientId: ADMIN_UI_CLIENT_ID, redirectUri }, { resource: ADMIN_RESOURCE });
    const enrol = await submit(mona.flow, mona.page, '/login', { login: 'mona', password: PASSWORD });
    expect(enrol.url).toMatch(/\/enrol$/);
    const codes = await submit(mona.flow, enrol, '/enrol', { code: codeNow(secretOn(enrol)) });
    const { accessToken: monaToken } = await tokens(mona.flow, await submit(mona.flow, codes, '/enrol/done', {}));

    const { secret: paulSecret } = await enrolOnAccountPage('paul');
    expect(paulSecret).toBeTruthy();
    const byManager = await fetch(`${porta.issuer}/api/v1/accounts/${ids.paul}/factors`, { method: 'DELETE', headers: { authorization: `Bearer ${monaToken}` } });
    expect(byManager.status).toBe(403);
    expect(((await byManager.json()) as { error: { message: string } }).error.message).toContain('platform admins');
    expect(await porta.idp!.factors.hasSecondFactor(ids.paul!)).toBe(true);

    const byAdmin = await fetch(`${porta.issuer}/api/v1/accounts/${ids.paul}/factors`, { method: 'DELETE', headers: { authorization: `Bearer ${ids.adminToken}` } });
    expect(byAdmin.status).toBe(200);
    expect(((await byAdmin.json()) as { totp: unknown }).totp).toBeNull();
    const audit = await porta.platform.accounts.audit.list({ limit: 500 });
    const entry = audit.items.find((e) => e.action === 'account.factors.reset');
    expect(entry).toMatchObject({ actor: ids.admin, target: { type: 'account', id: ids.paul } });

    const { flow, page } = await passwordStep('paul');
    expect((await tokens(flow, page)).id.amr).toEqual(['pwd']);
  });
});

describe('account deletion', () => {
  it("deleting an account through the admin API removes its second factors", async () => {
    const doomed = await porta.platform.directory.createAccount({ username: 'dora', email: 'dora@example.coop', name: 'Dora', password: PASSWORD, emailVerified: true });
    await enrolOnAccountPage('dora');
    expect(await porta.idp!.factors.hasSecondFactor(doomed.id)).toBe(true);
    const res = await fetch(`${porta.issuer}/api/v1/accounts/${doomed.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${ids.adminToken}` } });
    expect(res.status).toBeLessThan(300);
    for (let i = 0; i < 50 && (await porta.idp!.factors.hasSecondFactor(doomed.id)); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await porta.idp!.factors.summary(doomed.id)).toEqual({ totp: null, recoveryCodesLeft: 0, passkeys: [], passwordless: false });
  });
});

describe('strings', () => {
  it('ca and es have every English key of the factor pages', () => {
    const keys = Object.keys(FACTOR_CATALOGUES.en).sort();
    expect(Object.keys(FACTOR_CATALOGUES.ca).sort()).toEqual(keys);
    expect(Object.keys(FACTOR_CATALOGUES.es).sort()).toEqual(keys);
    for (const lang of ['ca', 'es'] as const) for (const key of keys) expect(FACTOR_CATALOGUES[lang][key as keyof typeof FACTOR_CATALOGUES.en]).not.toBe('');
  });
});
