/** A real browser (Debian's Chromium) through the login and consent pages: no CSP violation, switcher, code. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import type { Browser } from 'playwright-core';
import { launchBrowser, newPerson } from '../admin-ui/browser.ts';
import { startIdp, pkce, NEXTCLOUD, PASSWORD, type IdpHarness } from './helpers/harness.ts';

describe('IdP pages in Chromium', () => {
  let h: IdpHarness;
  let browser: Browser;
  beforeAll(async () => {
    h = await startIdp();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('signs in and consents in Catalan, with no script error or CSP violation, and the client gets a working code', async () => {
    const person = await newPerson(browser, { locale: 'en-GB' });
    const { page, problems } = person;
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid email profile', code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state, nonce: p.nonce });
    let callback: string | undefined;
    await page.route('http://oficina.test/**', async (route) => {
      callback = route.request().url();
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'Oficina' });
    });

    await page.goto(url.href);
    await page.getByRole('heading', { name: 'Sign in to continue to Oficina' }).waitFor();
    // The stylesheet loaded under the CSP.
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('main')!).maxWidth)).toBe('416px');
    await page.getByRole('link', { name: 'Català' }).click();
    await page.getByRole('heading', { name: 'Inicia la sessió per continuar a Oficina' }).waitFor();
    await page.getByLabel("Nom d'usuari o correu electrònic").fill('alice');
    await page.getByLabel('Contrasenya').fill(PASSWORD);
    await page.getByRole('button', { name: 'Entra' }).click();
    await page.getByRole('heading', { name: 'Oficina demana fer servir el teu compte' }).waitFor();
    await page.getByRole('button', { name: 'Permet' }).click();
    await page.waitForURL(/^http:\/\/oficina\.test\//);

    expect(callback).toBeDefined();
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback!), { pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce });
    expect(decodeJwt(tokens.id_token!).sub).toBe(h.alice.id);
    expect(problems).toEqual([]);
    await person.context.close();
  });
});
