/**
 * How the admin UI signs in and protects itself, in a real browser against a real Porta: PKCE and the
 * admin resource on the authorization request, refresh before expiry and after a refused token, sign
 * out through the IdP, cross-site requests refused, keyboard use, labels, languages, phone width.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page, Request } from 'playwright-core';
import { startStack, type Stack } from './stack.ts';
import { launchBrowser, newPerson, signIn, SHOTS } from './browser.ts';
import { createPlatformAdmin } from '../../directory/cli/admin-create.ts';

const PASSWORD = 'correct horse battery staple';

/** The token set the app keeps in sessionStorage. */
const tokensOf = (page: Page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('porta.tokens') ?? 'null') as { access_token: string; refresh_token?: string; expires_at: number } | null);

/** Every input, select and textarea on the page has an accessible name from a label. */
const unlabelled = (page: Page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => (el as HTMLInputElement).type !== 'hidden')
      .filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 && !el.getAttribute('aria-label') && !el.getAttribute('aria-labelledby'))
      .map((el) => el.outerHTML),
  );

describe('admin UI: sign-in, protection and accessibility', () => {
  let stack: Stack;
  let browser: Browser;
  let other: Server;
  let otherUrl: string;

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    await createPlatformAdmin(stack.directory, { username: 'ada', email: 'ada@example.org', password: PASSWORD, name: 'Ada Admin' });
    await stack.directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: ['oficina'] });
    // A page on another site that tries to create a collective with the visitor's cookies.
    other = createServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(
        `<!doctype html><form method="post" action="${stack.url}/api/v1/collectives" enctype="text/plain">` +
          `<input type="hidden" name='{"id":"csrf-attack","name":"x","services":[],"pad":"' value='"}'><button>Win a prize</button></form>`,
      );
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.2', resolve));
    otherUrl = `http://127.0.0.2:${(other.address() as AddressInfo).port}/`;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (other ? other.close(() => resolve()) : resolve()));
    await stack?.close();
  });

  it('asks for a code with PKCE (S256), state, nonce and the admin API as resource, and keeps the tokens out of cookies', async () => {
    const person = await newPerson(browser);
    const authorizations: URL[] = [];
    const tokenBodies: URLSearchParams[] = [];
    person.page.on('request', (request: Request) => {
      const url = new URL(request.url());
      if (url.pathname === '/auth') authorizations.push(url);
      if (url.pathname === '/token') tokenBodies.push(new URLSearchParams(request.postData() ?? ''));
    });
    await signIn(person, stack.url, 'ada', PASSWORD);
    expect(authorizations).toHaveLength(1);
    const q = authorizations[0]!.searchParams;
    expect(q.get('client_id')).toBe('porta-admin-ui');
    expect(q.get('response_type')).toBe('code');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get('resource')).toBe('urn:porta:admin');
    expect(q.get('redirect_uri')).toBe(`${stack.url}/admin/callback`);
    expect(tokenBodies[0]?.get('grant_type')).toBe('authorization_code');
    expect(tokenBodies[0]?.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The access token is a JWT for the admin API; no cookie holds it.
    const tokens = await tokensOf(person.page);
    const payload = JSON.parse(Buffer.from(tokens!.access_token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(payload.aud).toBe('porta-admin');
    const cookies = await person.context.cookies(stack.url);
    expect(cookies.some((c) => c.value.includes(tokens!.access_token.slice(0, 20)))).toBe(false);
    // The callback URL with the code does not stay in the address bar or history.
    expect(person.page.url()).not.toContain('code=');
    await person.context.close();
  }, 60_000);

  it('refuses a write that carries only cookies: from the browser itself and from a form on another site', async () => {
    const person = await newPerson(browser);
    await signIn(person, stack.url, 'ada', PASSWORD);
    // The browser holds the IdP session cookies for this origin…
    const cookies = await person.context.cookies(stack.url);
    expect(cookies.map((c) => c.name)).toContain('porta_session');
    // …and sends them with this request, but no Authorization header: refused.
    const direct = await person.context.request.post(`${stack.url}/api/v1/collectives`, { data: { id: 'cookie-only', name: 'Cookie only', services: [] } });
    expect(direct.status()).toBe(401);
    expect(direct.headers()['www-authenticate']).toMatch(/^Bearer/);

    // A cross-site form post (what CSRF is) cannot add the header either.
    await person.page.goto(otherUrl);
    const [response] = await Promise.all([person.page.waitForResponse(`${stack.url}/api/v1/collectives`), person.page.getByRole('button', { name: 'Win a prize' }).click()]);
    expect(response.status()).toBe(401);
    // And a script on that site cannot send the header: the API grants no CORS preflight.
    await person.page.goto(otherUrl);
    const outcome = await person.page.evaluate(async (url) => {
      try {
        const res = await fetch(url, { method: 'POST', headers: { Authorization: 'Bearer stolen?', 'Content-Type': 'application/json' }, body: '{"id":"cors-attack","name":"x"}' });
        return `answered ${res.status}`;
      } catch {
        return 'blocked';
      }
    }, `${stack.url}/api/v1/collectives`);
    expect(outcome).toBe('blocked');
    expect(await stack.directory.getCollective('cors-attack')).toBeUndefined();
    expect(await stack.directory.getCollective('cookie-only')).toBeUndefined();
    expect(await stack.directory.getCollective('csrf-attack')).toBeUndefined();
    await person.context.close();
  }, 60_000);

  it('refreshes the access token before it expires, and after the API refuses one', async () => {
    const person = await newPerson(browser);
    await signIn(person, stack.url, 'ada', PASSWORD);
    const { page } = person;
    const refreshes: string[] = [];
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/token' && new URLSearchParams(request.postData() ?? '').get('grant_type') === 'refresh_token') refreshes.push(request.url());
    });
    const first = await tokensOf(page);
    // Close to expiry (as the app's clock sees it): the next API call refreshes first.
    await page.evaluate(() => {
      const t = JSON.parse(sessionStorage.getItem('porta.tokens')!);
      t.expires_at = Date.now() + 5_000;
      sessionStorage.setItem('porta.tokens', JSON.stringify(t));
    });
    await page.goto(`${stack.url}/admin/collectives`);
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByRole('heading', { level: 1, name: 'Accounts' }).waitFor();
    await page.getByRole('cell', { name: 'ada@example.org' }).waitFor();
    expect(refreshes).toHaveLength(1);
    const second = await tokensOf(page);
    expect(second!.access_token).not.toBe(first!.access_token);
    expect(second!.refresh_token).not.toBe(first!.refresh_token); // rotated

    // A token the API refuses (401): one refresh, then the request again.
    await page.evaluate(() => {
      const t = JSON.parse(sessionStorage.getItem('porta.tokens')!);
      t.access_token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.bad';
      sessionStorage.setItem('porta.tokens', JSON.stringify(t));
    });
    await page.reload();
    await page.getByRole('cell', { name: 'ada@example.org' }).waitFor();
    expect(refreshes).toHaveLength(2);
    expect(person.problems).toEqual([]);
    await person.context.close();
  }, 60_000);

  it('signs out through the IdP: the tokens are gone and the next sign-in asks for the password again', async () => {
    const person = await newPerson(browser);
    await signIn(person, stack.url, 'ada', PASSWORD);
    const { page } = person;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/session\/end/);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(`${stack.url}/admin/`);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await tokensOf(page)).toBeNull();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/interaction\//);
    expect(await page.getByLabel(/password/i).count()).toBeGreaterThan(0);
    await person.context.close();
  }, 60_000);

  it('does not loop through the IdP when the API refuses the account itself (suspended after signing in)', async () => {
    const person = await newPerson(browser);
    const marta = await stack.directory.createAccount({ username: 'marta', email: 'marta@example.org', name: 'Marta Vila', password: PASSWORD, emailVerified: true });
    await signIn(person, stack.url, 'marta', PASSWORD);
    const { page } = person;
    let authorizations = 0;
    page.on('request', (request) => {
      if (new URL(request.url()).pathname === '/auth') authorizations++;
    });
    await stack.directory.updateAccount(marta.id, { status: 'suspended' });
    await page.reload();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Porta does not let this account in: .*suspended/);
    expect(authorizations).toBeLessThanOrEqual(1);
    expect(new URL(page.url()).pathname.startsWith('/admin')).toBe(true);
    await person.context.close();
  }, 60_000);

  it('is usable by keyboard alone: skip link first, visible focus, links and buttons reachable', async () => {
    const person = await newPerson(browser);
    await signIn(person, stack.url, 'ada', PASSWORD);
    const { page } = person;
    await page.goto(`${stack.url}/admin/collectives`);
    await page.getByRole('heading', { level: 1, name: 'Collectives' }).waitFor();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).top)).not.toMatch(/^-/); // shown when focused
    await page.keyboard.press('Enter');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main');
    // The table's scroll region (focusable so it can be scrolled by keyboard), then the first link.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('aria-label'))).toBe('Collectives');
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => ({ text: document.activeElement?.textContent, outline: getComputedStyle(document.activeElement!).outlineStyle }));
    expect(focused.text).toBe('femProcomuns');
    expect(focused.outline).not.toBe('none');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'femProcomuns' }).waitFor();
    // After navigation the page heading has the focus, so a screen reader announces the new page.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');

    // The create form, by keyboard: type into labelled fields and submit with Enter.
    await page.goto(`${stack.url}/admin/collectives`);
    await page.getByLabel('Name', { exact: true }).focus();
    await page.keyboard.type('Bad id');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Not A Slug!');
    await page.keyboard.press('Enter');
    // The API's complaint is read out (role=alert) and the form stays.
    const alert = page.locator('.error-box.shown');
    await alert.waitFor();
    expect(await alert.getAttribute('role')).toBe('alert');
    expect(await stack.directory.getCollective('not-a-slug')).toBeUndefined();

    for (const path of ['/admin/collectives', '/admin/collectives/femprocomuns', '/admin/policy', '/admin/accounts', '/admin/account', '/admin/usage', '/admin/billing']) {
      await page.goto(`${stack.url}${path}`);
      await page.locator('h1.page-title').waitFor();
      await page.waitForFunction(() => !document.getElementById('main')?.hasAttribute('aria-busy'));
      expect([path, await unlabelled(page)]).toEqual([path, []]);
    }
    expect(person.problems).toEqual([]);
    await person.context.close();
  }, 90_000);

  it("speaks the browser's language (Catalan, Spanish, English) and switches on request", async () => {
    const person = await newPerson(browser, { locale: 'ca-ES' });
    const { page } = person;
    await page.goto(`${stack.url}/admin/`);
    await page.getByRole('heading', { level: 1, name: 'Administració de Porta' }).waitFor();
    expect(await page.getByRole('button', { name: 'Inicia la sessió' }).count()).toBe(1);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ca');
    await page.getByLabel('Idioma').selectOption('es');
    await page.getByRole('heading', { level: 1, name: 'Administración de Porta' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Administración de Porta' }).waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('es');
    await signIn(person, stack.url, 'ada', PASSWORD);
    expect(await page.getByRole('link', { name: 'Planes y reglas' }).count()).toBe(1);
    await page.getByLabel('Idioma').selectOption('ca');
    await page.getByRole('link', { name: 'Plans i regles' }).waitFor();
    await page.getByRole('heading', { level: 1, name: 'Col·lectius' }).waitFor();
    await page.screenshot({ path: new URL('collectives-ca.png', SHOTS).pathname });
    await person.context.close();
  }, 60_000);

  it('is readable at phone width: one column, nothing wider than the screen', async () => {
    const person = await newPerson(browser, { width: 375 });
    await signIn(person, stack.url, 'ada', PASSWORD, '/admin/collectives/femprocomuns');
    const { page } = person;
    await page.getByRole('heading', { level: 1, name: 'femProcomuns' }).waitFor();
    const layout = await page.evaluate(() => {
      const nav = document.getElementById('nav')!.getBoundingClientRect();
      const main = document.getElementById('main')!.getBoundingClientRect();
      return { navBottom: nav.bottom, mainTop: main.top, mainWidth: main.width, scrollWidth: document.documentElement.scrollWidth };
    });
    expect(layout.mainTop).toBeGreaterThanOrEqual(layout.navBottom);
    expect(layout.mainWidth).toBeGreaterThan(300);
    expect(layout.scrollWidth).toBeLessThanOrEqual(375);
    await page.screenshot({ path: new URL('phone.png', SHOTS).pathname, fullPage: true });
    await person.context.close();
  }, 60_000);
});
