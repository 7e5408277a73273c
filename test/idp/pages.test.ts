/** The login, consent and error pages: CSP, CSRF, browser binding, languages, throttling, outages. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { Browser, readForm, type Page } from './helpers/browser.ts';
import { startIdp, pkce, NEXTCLOUD, DISCOURSE, PASSWORD, type IdpHarness } from './helpers/harness.ts';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import type { Directory } from '../../directory/types.ts';
import { signIns } from '../../idp/metrics.ts';

describe('interaction pages', () => {
  let h: IdpHarness;
  let directoryDown = false;

  beforeAll(async () => {
    h = await startIdp({
      idp: { loginThrottle: { consecutiveFailures: 3, blockSeconds: 900, failuresPerIpPerDay: 8 } },
      // A directory whose backend can be switched off, as when LDAP goes away.
      wrapDirectory: (real) =>
        new Proxy(real, {
          get(target, prop, receiver) {
            const value = Reflect.get(target, prop, receiver) as unknown;
            if (typeof value !== 'function') return value;
            return (...args: unknown[]) => {
              if (directoryDown) return Promise.reject(new StoreUnavailableError('directory'));
              return (value as (...a: unknown[]) => unknown).apply(target, args);
            };
          },
        }) as Directory,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Opens the login page of a fresh Nextcloud-like authorization request. */
  async function loginPage(browser = new Browser({ 'x-forwarded-for': '198.51.100.1' }), query = ''): Promise<Page> {
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid email', code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state });
    const first = await browser.request(url.href);
    return browser.request(`${first.location!}${query}`);
  }

  async function submit(browser: Browser, page: Page, login: string, password: string): Promise<Page> {
    const form = readForm(page, '/login');
    return browser.request(form.action, { form: { ...form.fields, login, password } });
  }

  it('serves the login page with a strict CSP, no scripts, and a CSRF token', async () => {
    const page = await loginPage();
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.body).not.toMatch(/<script|\son\w+=|style="/i);
    expect(page.body).toContain('Oficina');
    expect(readForm(page, '/login').fields.csrf).toMatch(/^[\w-]{40,}$/);
    const css = await fetch(`${h.issuer}/idp-assets/porta.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
  });

  it('speaks Catalan and Spanish by Accept-Language and by the switcher, which it remembers', async () => {
    const es = await loginPage(new Browser({ 'accept-language': 'es-ES,es;q=0.9,en;q=0.5', 'x-forwarded-for': '198.51.100.201' }));
    expect(es.body).toContain('<html lang="es">');
    expect(es.body).toContain('Contraseña');
    const browser = new Browser({ 'accept-language': 'en', 'x-forwarded-for': '198.51.100.202' });
    const ca = await loginPage(browser, '?lang=ca');
    expect(ca.body).toContain('<html lang="ca">');
    expect(ca.body).toContain('Contrasenya');
    expect(ca.body).toMatch(/href="\/interaction\/[\w-]+\?lang=es"/);
    const later = await loginPage(browser);
    expect(later.body).toContain('<html lang="ca">');
  });

  it('takes a malformed language cookie as no choice rather than failing the page', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.203' });
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid email', code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state });
    const interaction = new URL((await browser.request(url.href)).location!);
    const res = await fetch(interaction, {
      headers: { cookie: `${browser.cookieHeader(interaction)}; porta_lang=%E0%A4%A`, 'accept-language': 'ca', 'x-forwarded-for': '198.51.100.203' },
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<html lang="ca">');
  });

  it('refuses a form without the right CSRF token', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.2' });
    const page = await loginPage(browser);
    const form = readForm(page, '/login');
    const res = await browser.request(form.action, { form: { csrf: 'forged', login: 'alice', password: PASSWORD } });
    expect(res.status).toBe(403);
    expect(res.location).toBeUndefined();
  });

  it('binds the interaction to the browser that started it', async () => {
    const page = await loginPage();
    const form = readForm(page, '/login');
    const stranger = new Browser({ 'x-forwarded-for': '198.51.100.3' });
    const view = await stranger.request(page.url);
    expect(view.status).toBe(400);
    expect(view.body).toContain('opened in another browser');
    const post = await stranger.request(form.action, { form: { ...form.fields, login: 'alice', password: PASSWORD } });
    expect(post.status).toBe(400);
    expect(post.location).toBeUndefined();
  });

  it('answers an unknown user and a wrong password the same way, and counts both as failures', async () => {
    const failures = async () => (await signIns.get()).values.find((v) => v.labels.outcome === 'failure')?.value ?? 0;
    const before = await failures();
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.200' });
    const wrong = await submit(browser, await loginPage(browser), 'bob', 'not his password');
    const unknown = await submit(browser, await loginPage(browser), 'nobody-here', 'not his password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (p: Page) => /role="alert">([^<]*)</.exec(p.body)?.[1];
    expect(message(wrong)).toBe('Wrong username or password.');
    expect(message(unknown)).toBe(message(wrong));
    expect(await failures()).toBe(before + 2);
  });

  it('takes similar time for an unknown user and a wrong password (the directory hashes a dummy)', async () => {
    const time = async (login: string, i: number) => {
      const browser = new Browser({ 'x-forwarded-for': `198.51.100.${40 + i}` });
      const page = await loginPage(browser);
      const start = performance.now();
      await submit(browser, page, login, 'wrong password here');
      return performance.now() - start;
    };
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known: number[] = [];
    const unknown: number[] = [];
    // Interleaved, 7 of each, medians: one slow sample on a busy machine does not decide.
    for (let i = 0; i < 7; i += 1) {
      known.push(await time('bob', i));
      unknown.push(await time(`ghost-${i}`, i));
    }
    const [k, u] = [median(known), median(unknown)];
    // The leak would be an unknown user answered fast: without the dummy hash it answers in a few ms
    // against tens of ms for a known one (a ratio of 10 or more).
    expect(k / u).toBeLessThan(4);
  });

  it('pauses a username+address after consecutive failures, says when to retry, and a success resets the count', async () => {
    await h.directory.createAccount({ username: 'dana', email: 'dana@example.org', name: 'Dana', password: PASSWORD });
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.5' });
    for (let i = 0; i < 2; i += 1) expect((await submit(browser, await loginPage(browser), 'dana', 'nope')).status).toBe(401);
    // A success clears the consecutive count ...
    const ok = await submit(browser, await loginPage(browser), 'dana', PASSWORD);
    expect(ok.status).toBe(303);
    const fresh = new Browser({ 'x-forwarded-for': '198.51.100.5' });
    for (let i = 0; i < 2; i += 1) expect((await submit(fresh, await loginPage(fresh), 'dana', 'nope')).status).toBe(401);
    // ... so only now does the third failure in a row start the pause.
    expect((await submit(fresh, await loginPage(fresh), 'dana', 'nope')).status).toBe(401);
    const blocked = await submit(fresh, await loginPage(fresh), 'dana', PASSWORD);
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(890);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(blocked.body).toContain('Too many failed sign-in attempts. Try again in 15 minutes');
    // Another username from the same address is not paused by dana's failures.
    const other = await submit(fresh, await loginPage(fresh), 'alice', PASSWORD);
    expect([200, 303]).toContain(other.status);
  });

  it('blocks an address for the day after too many failures, whatever the usernames', async () => {
    const ip = { 'x-forwarded-for': '203.0.113.77' };
    for (let i = 0; i < 8; i += 1) {
      const browser = new Browser(ip);
      expect((await submit(browser, await loginPage(browser), `someone-${i}`, 'nope')).status).toBe(401);
    }
    const browser = new Browser(ip);
    const blocked = await submit(browser, await loginPage(browser), 'alice', PASSWORD);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get('retry-after'))).toBeGreaterThan(86000);
    // Another address is not affected.
    const elsewhere = new Browser({ 'x-forwarded-for': '203.0.113.78' });
    expect((await submit(elsewhere, await loginPage(elsewhere), 'alice', PASSWORD)).status).toBe(303);
  });

  it('shows a 503 page when the directory is unavailable', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.7' });
    const page = await loginPage(browser);
    directoryDown = true;
    try {
      const res = await submit(browser, page, 'alice', PASSWORD);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('30');
      expect(res.body).toContain('The directory of accounts is unavailable right now');
    } finally {
      directoryDown = false;
    }
  });

  it('answers 503 temporarily_unavailable at the token endpoint and a 503 page at the authorization endpoint while the directory is down', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.60' });
    const cfg = await h.client(DISCOURSE.clientId);
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid', state: 's', nonce: 'n' });
    const callback = await h.signIn(browser, url, DISCOURSE.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { expectedState: 's', expectedNonce: 'n' });
    directoryDown = true;
    try {
      const res = await fetch(cfg.serverMetadata().token_endpoint!, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${DISCOURSE.clientId}:${DISCOURSE.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token! }),
      });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: 'temporarily_unavailable', error_description: 'The directory store is unavailable right now; try again in a moment.' });
      const page = await browser.request(url.href);
      expect(page.status).toBe(503);
      expect(page.location).toBeUndefined();
      expect(page.body).toContain('The directory of accounts is unavailable right now');
    } finally {
      directoryDown = false;
    }
    // Once it is back, the same refresh token still works: nothing was consumed by the failed attempt.
    await expect(oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).resolves.toMatchObject({ access_token: expect.any(String) });
  });

  it('asks third-party clients for consent, and a refusal goes back to the client as access_denied', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.8' });
    const page = await loginPage(browser);
    const afterLogin = await browser.follow(readForm(page, '/login').action, [NEXTCLOUD.redirectUri], {
      form: { ...readForm(page, '/login').fields, login: 'alice', password: PASSWORD },
    });
    expect(afterLogin.body).toContain('Oficina asks to use your account');
    expect(afterLogin.body).toContain('your email address');
    const deny = readForm(afterLogin, '/abort');
    const back = await browser.follow(deny.action, [NEXTCLOUD.redirectUri], { form: deny.fields });
    expect(new URL(back.location!).searchParams.get('error')).toBe('access_denied');
  });

  it('lists on the consent page what claims asked for with the claims parameter reveal', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.61' });
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const claims = JSON.stringify({ id_token: { email: null, name: null, quota: null, groups: null } });
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid', claims, code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state });
    const login = await browser.follow(url.href, [NEXTCLOUD.redirectUri]);
    const form = readForm(login, '/login');
    const consent = await browser.follow(form.action, [NEXTCLOUD.redirectUri], { form: { ...form.fields, login: 'alice', password: PASSWORD } });
    for (const text of ['your email address', 'your name and username', 'your plan and storage quota', 'the collectives you belong to']) expect(consent.body).toContain(text);
  });

  it('escapes what a person typed when it shows the form again', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.62' });
    const res = await submit(browser, await loginPage(browser), '"><script>alert(1)</script>', 'nope');
    expect(res.status).toBe(401);
    expect(res.body).not.toContain('<script>');
    expect(res.body).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('signs out without a client and shows the signed-out page', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.63' });
    const cfg = await h.client(DISCOURSE.clientId);
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid', state: 's', nonce: 'n' });
    await h.signIn(browser, url, DISCOURSE.redirectUri);
    const confirm = await browser.follow(`${h.issuer}/session/end?lang=es`);
    expect(confirm.body).toContain('¿Cerrar la sesión?');
    const form = readForm(confirm, '/session/end/confirm');
    const done = await browser.follow(form.action, [], { form: { ...form.fields, logout: 'yes' } });
    expect(done.status).toBe(200);
    expect(done.body).toContain('Has cerrado la sesión.');
    expect(done.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(done.body).not.toMatch(/<script/i);
  });

  it('skips consent for first-party clients', async () => {
    const browser = new Browser({ 'x-forwarded-for': '198.51.100.9' });
    const cfg = await h.client(DISCOURSE.clientId);
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid email profile', state: 's', nonce: 'n' });
    const loginForm = await browser.follow(url.href, [DISCOURSE.redirectUri]);
    const form = readForm(loginForm, '/login');
    const res = await browser.follow(form.action, [DISCOURSE.redirectUri], { form: { ...form.fields, login: 'alice', password: PASSWORD } });
    expect(res.location).toMatch(/^http:\/\/agora\.test\/auth\/oidc\/callback\?code=/);
  });
});
