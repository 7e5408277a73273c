/** Signing in through the IdP with accounts in a real OpenLDAP (slapd): bind, claims from LDAP, outage. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { startSlapd, type Slapd } from '../helpers/slapd.ts';
import { LdapDirectory } from '../../directory/ldap/ldap-directory.ts';
import { Browser, readForm } from './helpers/browser.ts';
import { startIdp, pkce, NEXTCLOUD, PASSWORD, type IdpHarness } from './helpers/harness.ts';

describe('IdP over an LDAP directory', () => {
  let slapd: Slapd;
  let h: IdpHarness;
  beforeAll(async () => {
    slapd = await startSlapd();
    h = await startIdp({
      makeDirectory: () => new LdapDirectory({ url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix, services: [], timeoutMs: 2000 }),
    });
  });
  afterAll(async () => {
    await h?.close();
    await slapd?.stop();
  });

  async function loginPage(browser: Browser) {
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid', claims: JSON.stringify({ id_token: { email: null, name: null, groups: null, quota: null } }), code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state, nonce: p.nonce });
    return { cfg, p, url, page: await browser.follow(url.href, [NEXTCLOUD.redirectUri]) };
  }

  it('signs in with an LDAP bind; sub is the entryUUID and groups come from the collectives', async () => {
    const browser = new Browser({ 'x-forwarded-for': '192.0.2.10' });
    const { cfg, p, url } = await loginPage(browser);
    const callback = await h.signIn(browser, url, NEXTCLOUD.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce });
    const claims = decodeJwt(tokens.id_token!);
    expect(claims.sub).toBe(h.alice.id);
    expect(claims.sub).toMatch(/^[0-9a-f-]{36}$/);
    expect(claims).toMatchObject({ email: 'alice@example.org', name: 'Alice Puig', groups: ['cc-femprocomuns'], quota: 'none' });
  });

  it('refuses a wrong password and never tries an empty one', async () => {
    const browser = new Browser({ 'x-forwarded-for': '192.0.2.11' });
    const wrong = await loginPage(browser);
    let form = readForm(wrong.page, '/login');
    expect((await browser.request(form.action, { form: { ...form.fields, login: 'alice', password: 'not it' } })).status).toBe(401);
    const empty = await loginPage(browser);
    form = readForm(empty.page, '/login');
    const res = await browser.request(form.action, { form: { ...form.fields, login: 'alice', password: '' } });
    expect(res.status).toBe(400);
    expect(res.location).toBeUndefined();
  });

  it('shows the 503 page while slapd is down', async () => {
    const browser = new Browser({ 'x-forwarded-for': '192.0.2.12' });
    const { page } = await loginPage(browser);
    const form = readForm(page, '/login');
    await slapd.halt();
    try {
      const res = await browser.request(form.action, { form: { ...form.fields, login: 'alice', password: PASSWORD } });
      expect(res.status).toBe(503);
      expect(res.body).toContain('The directory of accounts is unavailable right now');
    } finally {
      await slapd.restart();
    }
  });
});
