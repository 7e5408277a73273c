/**
 * The IdP's account pages over real HTTP, on a whole Porta (startTestPorta): registration in each
 * mode, email verification, forgotten password and reset, invitations, CSRF, languages, limits and
 * an unavailable directory.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { Browser, readForm, type Page } from './helpers/browser.ts';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import { ManualClock } from '../../kernel/clock.ts';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { parseConfig } from '../../config/load.ts';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { EmbeddedDirectory, createAccountServices } from '../../directory/index.ts';
import type { Directory } from '../../directory/types.ts';
import { accountPagesRouter } from '../../idp/account/index.ts';

const PASSWORD = 'correct horse battery staple';
const APP = { clientId: 'app', redirectUri: 'http://app.test/cb' };
const INVITATION_TTL = 3600;

function clientConfig(registration: 'open' | 'invitation' | 'closed'): Record<string, unknown> {
  return {
    directory: { registration, tokens: { invitationTtlSeconds: INVITATION_TTL } },
    idp: { clients: [{ clientId: APP.clientId, redirectUris: [APP.redirectUri], firstParty: true, scope: 'openid email' }] },
  };
}

/** The newest mail to `to` and the first link in it. */
async function lastMail(porta: TestPorta, to: string): Promise<{ subject: string; link: string } | undefined> {
  const page = await porta.platform.accounts.outbox!.list({ to });
  const mail = page.items[0];
  if (!mail) return undefined;
  const link = /https?:\/\/\S+/.exec(mail.text)?.[0];
  if (!link) throw new Error(`no link in the mail "${mail.subject}"`);
  return { subject: mail.subject, link };
}

async function mailCount(porta: TestPorta, to: string): Promise<number> {
  return (await porta.platform.accounts.outbox!.list({ to })).items.length;
}

/** Fills a form of the page (hidden fields kept) and posts it. */
async function submit(browser: Browser, page: Page, actionContains: string, fields: Record<string, string>): Promise<Page> {
  const form = readForm(page, actionContains);
  return browser.request(form.action, { form: { ...form.fields, ...fields } });
}

/** The login page of a fresh authorization request of the test app. */
async function loginPage(porta: TestPorta, browser: Browser): Promise<Page> {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const query = new URLSearchParams({ client_id: APP.clientId, response_type: 'code', redirect_uri: APP.redirectUri, scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', state: 's1' });
  return browser.follow(`${porta.issuer}/auth?${query.toString()}`);
}

/** Signs in through the real login form; true when the browser is sent back to the app with a code. */
async function signsIn(porta: TestPorta, login: string, password: string): Promise<boolean> {
  const browser = new Browser();
  const page = await loginPage(porta, browser);
  expect(page.status).toBe(200);
  const form = readForm(page, '/login');
  const done = await browser.follow(form.action, [APP.redirectUri], { form: { ...form.fields, login, password } });
  return Boolean(done.location?.startsWith(`${APP.redirectUri}?code=`));
}

describe('account pages, open registration', () => {
  let porta: TestPorta;
  const clock = new ManualClock(Date.now());

  beforeAll(async () => {
    porta = await startTestPorta({ config: clientConfig('open'), clock });
    await porta.platform.directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: [] });
  });
  afterAll(async () => {
    await porta?.close();
  });

  it('registers an unverified account, mails a link that verifies once (GET only shows a button)', async () => {
    const browser = new Browser();
    const page = await browser.request(`${porta.issuer}/account/register`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.body).not.toMatch(/<script|\son\w+=|style="/i);
    expect(readForm(page, '/account/register').fields.csrf).toMatch(/^[\w-]{43}$/);

    const done = await submit(browser, page, '/account/register', { username: 'Laia', email: 'Laia@Example.org', name: 'Laia Puig', password: PASSWORD, password2: PASSWORD });
    expect(done.status).toBe(201);
    expect(done.body).toContain('laia@example.org');
    const account = await porta.platform.directory.findAccount('laia');
    expect(account).toMatchObject({ email: 'laia@example.org', emailVerified: false, name: 'Laia Puig' });

    const mail = await lastMail(porta, 'laia@example.org');
    expect(mail?.link).toMatch(new RegExp(`^${porta.issuer}/account/verify-email\\?token=`));
    // A mail scanner opening the link verifies nothing.
    const confirm = await new Browser().request(mail!.link);
    expect(confirm.status).toBe(200);
    expect((await porta.platform.directory.findAccount('laia'))?.emailVerified).toBe(false);

    const reader = new Browser();
    const button = await reader.request(mail!.link);
    const verified = await submit(reader, button, '/account/verify-email', {});
    expect(verified.status).toBe(200);
    expect(verified.body).toContain('laia@example.org');
    expect((await porta.platform.directory.findAccount('laia'))?.emailVerified).toBe(true);

    const again = await submit(reader, await reader.request(mail!.link), '/account/verify-email', {});
    expect(again.status).toBe(410);
    expect(again.body).toContain('used already or has expired');
  });

  it('shows validation errors at the fields and keeps what was typed', async () => {
    const browser = new Browser();
    const page = await browser.request(`${porta.issuer}/account/register`);
    const bad = await submit(browser, page, '/account/register', { username: 'x', email: 'not-an-address', name: 'Some <b>One</b>', password: 'short', password2: 'other' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatch(/id="username-error">Use 2 to 63 letters/);
    expect(bad.body).toMatch(/id="email-error">Enter an address like/);
    expect(bad.body).toMatch(/id="password-error">Use 10 to 256 characters/);
    expect(bad.body).toMatch(/id="password2-error">The two passwords are not the same/);
    expect(bad.body).not.toContain('id="name-error"');
    expect(bad.body).toContain('value="Some &lt;b&gt;One&lt;/b&gt;"');
    expect(await porta.platform.directory.findAccount('not-an-address')).toBeUndefined();

    await porta.platform.directory.createAccount({ username: 'pere', email: 'pere@example.org', name: 'Pere', password: PASSWORD, emailVerified: true });
    const taken = await submit(browser, bad, '/account/register', { username: 'pere', email: 'another@example.org', name: 'Another', password: PASSWORD, password2: PASSWORD });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatch(/id="username-error">That username is already taken/);
  });

  it('refuses a form without the CSRF token, with a token but no cookie, or from another origin (403)', async () => {
    const browser = new Browser();
    const page = await browser.request(`${porta.issuer}/account/register`);
    const fields = { username: 'csrf1', email: 'csrf1@example.org', name: 'C', password: PASSWORD, password2: PASSWORD };
    const form = readForm(page, '/account/register');
    const noToken = await browser.request(form.action, { form: { return: '/admin/', ...fields } });
    expect(noToken.status).toBe(403);
    expect(noToken.body).toContain('This form has expired');
    const noCookie = await new Browser().request(form.action, { form: { ...form.fields, ...fields } });
    expect(noCookie.status).toBe(403);
    const foreign = await browser.request(form.action, { form: { ...form.fields, ...fields }, headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(await porta.platform.directory.findAccount('csrf1')).toBeUndefined();
    // The same form with everything right goes through.
    expect((await browser.request(form.action, { form: { ...form.fields, ...fields }, headers: { origin: porta.issuer } })).status).toBe(201);
  });

  it('links from the login page to registration and back to the sign-in that was going on', async () => {
    const browser = new Browser();
    const login = await loginPage(porta, browser);
    const uid = /action="\/interaction\/([\w-]+)\/login"/.exec(login.body)?.[1];
    expect(uid).toBeDefined();
    expect(login.body).toContain(`href="/account/forgot-password?return=%2Finteraction%2F${uid}"`);
    const href = new RegExp(`href="(/account/register\\?return=%2Finteraction%2F${uid})"`).exec(login.body)?.[1];
    expect(href).toBeDefined();
    const register = await browser.request(`${porta.issuer}${href}`);
    expect(readForm(register, '/account/register').fields.return).toBe(`/interaction/${uid}`);
    const done = await submit(browser, register, '/account/register', { username: 'nuria', email: 'nuria@example.org', name: 'Núria', password: PASSWORD, password2: PASSWORD });
    expect(done.status).toBe(201);
    expect(done.body).toContain(`href="/interaction/${uid}"`);
    // The sign-in goes on where it stopped, with the new account.
    const back = await browser.request(`${porta.issuer}/interaction/${uid}`);
    const signedIn = await browser.follow(readForm(back, '/login').action, [APP.redirectUri], { form: { ...readForm(back, '/login').fields, login: 'nuria', password: PASSWORD } });
    expect(signedIn.location).toMatch(new RegExp(`^${APP.redirectUri}\\?code=`));
    // A return address on another site is not followed.
    const offsite = await browser.request(`${porta.issuer}/account/register?return=//evil.example/x`);
    expect(readForm(offsite, '/account/register').fields.return).toBe('/admin/');
  });

  it('resets a forgotten password: same answer for unknown logins, a link that works once, old password refused', async () => {
    await porta.platform.directory.createAccount({ username: 'ona', email: 'ona@example.org', name: 'Ona', password: PASSWORD, emailVerified: true });
    const browser = new Browser();
    const ask = async (login: string) => submit(browser, await browser.request(`${porta.issuer}/account/forgot-password`), '/account/forgot-password', { login });
    const unknown = await ask('nobody@example.org');
    const known = await ask('ona@example.org');
    expect(unknown.status).toBe(200);
    expect(known.status).toBe(200);
    expect(known.body.replace('ona@example.org', 'X')).toBe(unknown.body.replace('nobody@example.org', 'X'));
    expect(await mailCount(porta, 'nobody@example.org')).toBe(0);
    const mail = await lastMail(porta, 'ona@example.org');
    expect(mail?.link).toMatch(new RegExp(`^${porta.issuer}/account/reset-password\\?token=`));

    const form = await browser.request(mail!.link);
    expect(form.status).toBe(200);
    const mismatch = await submit(browser, form, '/account/reset-password', { password: 'a new long password', password2: 'a different one!!' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body).toMatch(/id="password2-error">/);
    const changed = await submit(browser, mismatch, '/account/reset-password', { password: 'a new long password', password2: 'a new long password' });
    expect(changed.status).toBe(200);
    expect(changed.body).toContain('Your password is changed');
    const reused = await submit(browser, await browser.request(mail!.link), '/account/reset-password', { password: 'yet another password', password2: 'yet another password' });
    expect(reused.status).toBe(410);

    expect(await signsIn(porta, 'ona', PASSWORD)).toBe(false);
    expect(await signsIn(porta, 'ona', 'a new long password')).toBe(true);
  });

  it('accepts an invitation by a new person once, showing the collective and the inviter', async () => {
    const { directory, accounts } = porta.platform;
    const marta = await directory.createAccount({ username: 'marta', email: 'marta@example.org', name: 'Marta Manager', password: PASSWORD, emailVerified: true });
    await accounts.flows.invitations.invite('femprocomuns', 'jordi@example.org', marta.id);
    const mail = await lastMail(porta, 'jordi@example.org');
    expect(mail?.link).toMatch(new RegExp(`^${porta.issuer}/invitation\\?token=`));

    const browser = new Browser();
    const page = await browser.request(mail!.link);
    expect(page.status).toBe(200);
    expect(page.body).toContain('femProcomuns');
    expect(page.body).toContain('Marta Manager');
    expect(page.body).toContain('jordi@example.org');
    const taken = await submit(browser, page, 'do=create', { username: 'marta', name: 'Jordi', password: PASSWORD, password2: PASSWORD });
    expect(taken.status).toBe(409);
    expect(taken.body).toMatch(/id="username-error">That username is already taken/);
    const joined = await submit(browser, taken, 'do=create', { username: 'jordi', name: 'Jordi Vila', password: PASSWORD, password2: PASSWORD });
    expect(joined.status).toBe(200);
    expect(joined.body).toContain('femProcomuns');
    const jordi = await directory.findAccount('jordi');
    expect(jordi).toMatchObject({ email: 'jordi@example.org', emailVerified: true });
    expect((await directory.membershipsOf(jordi!.id)).map((m) => m.collectiveId)).toEqual(['femprocomuns']);

    const again = await new Browser().request(mail!.link);
    expect(again.status).toBe(410);
    expect(again.body).toContain('This invitation does not work any more');
    expect(await signsIn(porta, 'jordi', PASSWORD)).toBe(true);
  });

  it('accepts an invitation by signing in with an existing account, after a wrong password', async () => {
    const { directory, accounts } = porta.platform;
    const marta = await directory.findAccount('marta');
    const pau = await directory.createAccount({ username: 'pau', email: 'pau@example.org', name: 'Pau', password: PASSWORD, emailVerified: true });
    await accounts.flows.invitations.invite('femprocomuns', 'pau@example.org', marta!.id);
    const link = (await lastMail(porta, 'pau@example.org'))!.link;
    const browser = new Browser();
    const page = await browser.request(link);
    // Creating a second account for the same address is refused; signing in is offered.
    const exists = await submit(browser, page, 'do=create', { username: 'pau2', name: 'Pau', password: PASSWORD, password2: PASSWORD });
    expect(exists.status).toBe(409);
    expect(exists.body).toContain('An account with this email address already exists');
    const wrong = await submit(browser, exists, 'do=signin', { login: 'pau', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('Wrong username or password');
    expect(await directory.membershipsOf(pau.id)).toEqual([]);
    const joined = await submit(browser, wrong, 'do=signin', { login: 'pau@example.org', password: PASSWORD });
    expect(joined.status).toBe(200);
    expect((await directory.membershipsOf(pau.id)).map((m) => m.collectiveId)).toEqual(['femprocomuns']);
  });

  it('refuses an expired invitation', async () => {
    const { directory, accounts } = porta.platform;
    const marta = await directory.findAccount('marta');
    await accounts.flows.invitations.invite('femprocomuns', 'late@example.org', marta!.id);
    const link = (await lastMail(porta, 'late@example.org'))!.link;
    const browser = new Browser();
    const page = await browser.request(link);
    expect(page.status).toBe(200);
    clock.advance((INVITATION_TTL + 1) * 1000);
    expect((await browser.request(link)).status).toBe(410);
    const late = await submit(browser, page, 'do=create', { username: 'late', name: 'Late', password: PASSWORD, password2: PASSWORD });
    expect(late.status).toBe(410);
    expect(await directory.findAccount('late')).toBeUndefined();
  });

  it('speaks Catalan and Spanish, field errors included', async () => {
    const browser = new Browser({ 'accept-language': 'es-ES,es;q=0.9' });
    const es = await browser.request(`${porta.issuer}/account/forgot-password`);
    expect(es.body).toContain('<html lang="es">');
    expect(es.body).toContain('¿Has olvidado la contraseña?');
    const ca = await browser.request(`${porta.issuer}/account/register?lang=ca`);
    expect(ca.body).toContain('<html lang="ca">');
    expect(ca.body).toContain('Crea un compte');
    const bad = await submit(browser, ca, '/account/register', { username: 'ok-name', email: 'ok@example.org', name: 'Ok', password: PASSWORD, password2: 'different password' });
    expect(bad.status).toBe(400);
    expect(bad.body).toContain('Les dues contrasenyes no coincideixen.');
    // The switcher on a page answering a POST leads back to the form.
    expect(bad.body).toContain('href="/account/register?lang=es"');
  });

  // Last in this suite: it uses up this address's registrations for the hour.
  it('limits registrations per address (429 past 10 an hour that reach the directory)', async () => {
    const browser = new Browser();
    const page = await browser.request(`${porta.issuer}/account/register`);
    let created = 0;
    let blocked: Page | undefined;
    for (let i = 0; i < 12 && !blocked; i += 1) {
      const answer = await submit(browser, page, '/account/register', { username: `many${i}`, email: `many${i}@example.org`, name: 'Many', password: PASSWORD, password2: PASSWORD });
      if (answer.status === 429) blocked = answer;
      else if (answer.status === 201) created += 1;
      else throw new Error(`unexpected ${answer.status}`);
    }
    expect(blocked).toBeDefined();
    expect(Number(blocked!.headers.get('retry-after'))).toBeGreaterThan(0);
    // Earlier tests registered some accounts from this address too; the total stays within the limit.
    expect(created).toBeLessThan(10);
    expect(await porta.platform.directory.findAccount(`many${created}`)).toBeUndefined();
  });

  it('answers 400 for a link without its token', async () => {
    for (const path of ['/account/verify-email', '/account/reset-password', '/invitation']) {
      const page = await new Browser().request(`${porta.issuer}${path}`);
      expect(page.status).toBe(400);
      expect(page.body).toContain('This link is incomplete');
    }
  });
});

describe('account pages, invitation-only registration', () => {
  let porta: TestPorta;

  beforeAll(async () => {
    porta = await startTestPorta({ config: clientConfig('invitation') });
    await porta.platform.directory.createCollective({ id: 'ateneu', name: 'Ateneu', services: [] });
  });
  afterAll(async () => {
    await porta?.close();
  });

  it('refuses registration without an invitation and accepts it with one', async () => {
    const browser = new Browser();
    const refused = await browser.request(`${porta.issuer}/account/register`);
    expect(refused.status).toBe(403);
    expect(refused.body).toContain('by invitation only');
    expect(refused.body).not.toContain('<form');
    // Posting anyway (with a valid form token from another page) creates nothing.
    const other = await browser.request(`${porta.issuer}/account/forgot-password`);
    const csrf = readForm(other, '/account/forgot-password').fields.csrf!;
    const post = await browser.request(`${porta.issuer}/account/register`, { form: { csrf, username: 'sneaky', email: 'sneaky@example.org', name: 'S', password: PASSWORD, password2: PASSWORD } });
    expect(post.status).toBe(403);
    expect(await porta.platform.directory.findAccount('sneaky')).toBeUndefined();

    const admin = await porta.createAdmin('root', PASSWORD);
    await porta.platform.accounts.flows.invitations.invite('ateneu', 'invited@example.org', admin);
    const link = (await lastMail(porta, 'invited@example.org'))!.link;
    const token = new URL(link).searchParams.get('token')!;
    const redirect = await browser.request(`${porta.issuer}/account/register?token=${token}`);
    expect(redirect.status).toBe(303);
    const page = await browser.request(redirect.location!);
    expect(page.status).toBe(200);
    const joined = await submit(browser, page, 'do=create', { username: 'invited', name: 'Invited', password: PASSWORD, password2: PASSWORD });
    expect(joined.status).toBe(200);
    const account = await porta.platform.directory.findAccount('invited');
    expect((await porta.platform.directory.membershipsOf(account!.id)).map((m) => m.collectiveId)).toEqual(['ateneu']);
  });

  it('limits password reset requests per login and per address (429), whatever the login', async () => {
    const browser = new Browser();
    const page = await browser.request(`${porta.issuer}/account/forgot-password`);
    const ask = (login: string) => submit(browser, page, '/account/forgot-password', { login });
    for (let i = 0; i < 5; i += 1) expect((await ask('someone@example.org')).status).toBe(200);
    const blocked = await ask('SomeOne@example.org');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(blocked.body).toContain('Too many requests');
    // Other logins still work until the address has made 20 requests.
    for (let i = 7; i <= 20; i += 1) expect((await ask(`other${i}@example.org`)).status).toBe(200);
    expect((await ask('fresh@example.org')).status).toBe(429);
  });
});

describe('account pages, closed registration', () => {
  let porta: TestPorta;

  beforeAll(async () => {
    porta = await startTestPorta({ config: clientConfig('closed') });
    await porta.platform.directory.createCollective({ id: 'ateneu', name: 'Ateneu', services: [] });
  });
  afterAll(async () => {
    await porta?.close();
  });

  it('says registration is closed, and lets only existing accounts accept invitations', async () => {
    const browser = new Browser();
    const page = await browser.request(`${porta.issuer}/account/register?lang=ca`);
    expect(page.status).toBe(403);
    expect(page.body).toContain('El registre està tancat');

    const admin = await porta.createAdmin('root', PASSWORD);
    await porta.platform.accounts.flows.invitations.invite('ateneu', 'guest@example.org', admin);
    const link = (await lastMail(porta, 'guest@example.org'))!.link;
    const invitation = await browser.request(`${link}&lang=en`);
    expect(invitation.status).toBe(200);
    expect(invitation.body).not.toContain('do=create');
    const signin = readForm(invitation, 'do=signin');
    const create = await browser.request(signin.action.replace('do=signin', 'do=create'), {
      form: { ...signin.fields, action: 'create', username: 'guest', name: 'Guest', password: PASSWORD, password2: PASSWORD },
    });
    expect(create.status).toBe(403);
    expect(create.body).toContain('Registration is closed');
    expect(await porta.platform.directory.findAccount('guest')).toBeUndefined();
  });
});

describe('account pages with the directory down', () => {
  let stores: Stores;
  let server: Server;
  let url: string;
  let down = false;

  beforeAll(async () => {
    const config = parseConfig({ idp: { issuer: 'http://127.0.0.1:1' } }, {});
    stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'x' });
    const real = new EmbeddedDirectory({ documents: stores.documents, services: [] });
    const directory = new Proxy(real, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => (down ? Promise.reject(new StoreUnavailableError('directory')) : (value as (...a: unknown[]) => unknown).apply(target, args));
      },
    }) as Directory;
    const { flows } = createAccountServices(config, stores, directory);
    const app = express();
    app.use(accountPagesRouter({ flows, directory, issuer: 'http://127.0.0.1:1', logger: silentLogger, clock: { now: () => Date.now() } }));
    server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await stores?.close();
  });

  it('answers 503 with a page that says to try again', async () => {
    const browser = new Browser();
    const page = await browser.request(`${url}/account/forgot-password`);
    expect((await submit(browser, page, '/account/forgot-password', { login: 'x@example.org' })).status).toBe(200);
    down = true;
    const failed = await submit(browser, page, '/account/forgot-password', { login: 'y@example.org' });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('30');
    expect(failed.body).toContain('unavailable right now');
    down = false;
  });
});
