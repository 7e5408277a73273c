/**
 * Passkeys in a real Chromium with its virtual authenticator (DevTools protocol `WebAuthn.*`): a
 * member adds a passkey on /account/factors, then signs in with password + passkey (amr pwd, hwk),
 * turns on passkey-only sign-in and signs in with the passkey alone (amr hwk), and removes it.
 * The pages run the ceremony from /interaction-assets/webauthn.js under `script-src 'self'`.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { Browser as Chromium, BrowserContext, Page } from 'playwright-core';
import { chromium } from 'playwright-core';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import { freePort } from '../helpers/ports.ts';
import { CHROMIUM_ARGS } from '../admin-ui/browser.ts';
import { totpCode, totpStep } from '../../idp/factors/totp.ts';

const PASSWORD = 'correct horse battery staple';
const APP = { clientId: 'app', secret: 'app-secret-0123456789abcdef', redirectUri: '' };
let client: Server;
let porta: TestPorta;
let issuer: string;
let chromiumBrowser: Chromium;
let context: BrowserContext;
let page: Page;
let accountId: string;
const problems: string[] = [];

/** Opens an authorization request for `app` and returns what to finish it with. */
async function startSignIn(): Promise<{ verifier: string; done: Promise<string> }> {
  const verifier = randomBytes(32).toString('base64url');
  const params = new URLSearchParams({
    client_id: APP.clientId,
    response_type: 'code',
    scope: 'openid',
    redirect_uri: APP.redirectUri,
    state: 'st',
    nonce: 'nn',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  });
  // The redirect to the client (a tiny server here) carries the code.
  const done = page.waitForURL((url) => url.href.startsWith(APP.redirectUri), { timeout: 15_000 }).then(() => page.url());
  await page.goto(`${issuer}/auth?${params.toString()}`);
  return { verifier, done };
}

async function idTokenFor(redirect: string, verifier: string): Promise<Record<string, unknown>> {
  const code = new URL(redirect).searchParams.get('code') ?? '';
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${APP.clientId}:${APP.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: APP.redirectUri, code_verifier: verifier }),
  });
  expect(res.status).toBe(200);
  const { id_token: idToken } = (await res.json()) as { id_token: string };
  return JSON.parse(Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

async function typePassword(): Promise<void> {
  await page.locator('#login').fill('pia');
  await page.locator('#password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

beforeAll(async () => {
  const idpPort = await freePort();
  client = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('signed in'));
  await new Promise<void>((resolve) => client.listen(0, '127.0.0.1', resolve));
  APP.redirectUri = `http://127.0.0.1:${(client.address() as { port: number }).port}/cb`;
  // WebAuthn needs a domain as relying party id (not an IP address): the IdP is `localhost`.
  issuer = `http://localhost:${idpPort}`;
  porta = await startTestPorta({
    idpPort,
    config: { idp: { issuer, clients: [{ clientId: APP.clientId, clientSecret: APP.secret, redirectUris: [APP.redirectUri], firstParty: true }] } },
  });
  accountId = (await porta.platform.directory.createAccount({ username: 'pia', email: 'pia@example.coop', name: 'Pia', password: PASSWORD, emailVerified: true })).id;
  chromiumBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: [...CHROMIUM_ARGS, '--host-resolver-rules=MAP localhost 127.0.0.1'] });
  context = await chromiumBrowser.newContext({ locale: 'en-GB' });
  page = await context.newPage();
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
  });
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
}, 60_000);

afterAll(async () => {
  await chromiumBrowser?.close();
  await porta?.close();
  client?.closeAllConnections();
  await new Promise<void>((resolve) => (client ? client.close(() => resolve()) : resolve()));
});

describe('passkeys in Chromium (virtual authenticator)', () => {
  it('a member adds a passkey on the account page and sees the recovery codes once', async () => {
    const { done } = await startSignIn();
    await typePassword();
    await done;
    await page.goto(`${issuer}/account/factors`);
    await page.locator('#passkey-name').fill('Laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await page.getByRole('heading', { name: 'Your recovery codes' }).waitFor();
    expect(await page.locator('ul.recovery-codes li').count()).toBe(10);
    const summary = await porta.idp!.factors.summary(accountId);
    expect(summary.passkeys.map((p) => p.name)).toEqual(['Laptop']);
    expect(problems).toEqual([]);
  });

  it('the admin UI account page lists the factors, links to enrolment and removes the authenticator app', async () => {
    const secret = 'JBSWY3DPEHPK3PXP';
    expect((await porta.idp!.factors.enrolTotp(accountId, secret, totpCode(secret, totpStep(Date.now())))).ok).toBe(true);
    await page.goto(`${issuer}/admin/account`);
    const signInButton = page.getByRole('button', { name: /sign in/i });
    if (await signInButton.isVisible().catch(() => false)) await signInButton.click();
    const section = page.getByRole('region', { name: 'Second factor' }).or(page.locator('section').filter({ has: page.getByRole('heading', { name: 'Second factor' }) }));
    await section.first().waitFor({ timeout: 10_000 }).catch(async (error: unknown) => {
      throw new Error(`${String(error)} at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 600)}`);
    });
    const rows = section.first().getByRole('row');
    await rows.filter({ hasText: 'Passkey: Laptop' }).waitFor();
    await rows.filter({ hasText: 'Authenticator app' }).waitFor();
    expect(await section.first().getByRole('link', { name: 'Set up a second factor' }).getAttribute('href')).toBe('/account/factors');
    await section.first().getByRole('button', { name: 'Remove Authenticator app' }).click();
    await rows.filter({ hasText: 'Authenticator app' }).waitFor({ state: 'detached' });
    const summary = await porta.idp!.factors.summary(accountId);
    expect(summary.totp).toBeNull();
    expect(summary.passkeys).toHaveLength(1);
  }, 60_000);

  it('password, then the passkey as second factor: amr pwd + hwk', async () => {
    await context.clearCookies();
    const { verifier, done } = await startSignIn();
    await typePassword();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    const id = await idTokenFor(await done, verifier);
    expect(id.sub).toBe(accountId);
    expect(id.amr).toEqual(['pwd', 'hwk']);
    expect(id.acr).toBe('urn:porta:acr:2fa');
    expect((await porta.idp!.factors.summary(accountId)).passkeys[0]?.lastUsedAt).toBeGreaterThan(0);
  });

  it('passkey-only sign-in works once turned on (amr hwk), is refused while off', async () => {
    // Off: the passkey alone does not sign in.
    await context.clearCookies();
    await startSignIn();
    await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('cannot sign you in');

    // Turn it on from the account page (signed in with the password first).
    const first = await startSignIn();
    await typePassword();
    await page.getByRole('button', { name: 'Use a passkey' }).click();
    await first.done;
    await page.goto(`${issuer}/account/factors`);
    await page.getByRole('button', { name: /without a password: Turn on/ }).click();
    await page.getByText('Passkey sign-in is on.').waitFor();

    await context.clearCookies();
    const { verifier, done } = await startSignIn();
    await page.getByRole('link', { name: 'Sign in with a passkey' }).click();
    expect(page.url()).toMatch(/\/interaction\/[^/]+\/passkey$/);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    const id = await idTokenFor(await done, verifier);
    expect(id.sub).toBe(accountId);
    expect(id.amr).toEqual(['hwk']);
  });

  it('the passkey can be removed from the account page', async () => {
    await page.goto(`${issuer}/account/factors`);
    expect(await page.locator('[data-passkey]').allTextContents()).toEqual(['Laptop']);
    await page.locator('ul.passkeys').getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('heading', { name: 'Your second factors' }).waitFor();
    expect(await page.locator('[data-passkey]').count()).toBe(0);
    const summary = await porta.idp!.factors.summary(accountId);
    expect(summary.passkeys).toEqual([]);
    expect(summary.passwordless).toBe(false);
    expect(problems).toEqual([]);
  });
});
