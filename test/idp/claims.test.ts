/** Claims: what Nextcloud, Discourse and Greenlight read, where they read it. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { decodeJwt } from 'jose';
import { Browser } from './helpers/browser.ts';
import { startIdp, pkce, NEXTCLOUD, DISCOURSE, type IdpHarness } from './helpers/harness.ts';
import { accountClaims, isNextcloudQuota } from '../../idp/provider/claims.ts';

/** What user_oidc sends (LoginController::login) with default claims enabled. */
const NEXTCLOUD_CLAIMS = JSON.stringify({
  id_token: { email: null, name: null, quota: null, groups: null },
  userinfo: { email: null, name: null, quota: null, groups: null },
});

describe('claims', () => {
  let h: IdpHarness;
  beforeAll(async () => {
    h = await startIdp({
      entitlements: async (accountId) => (accountId === h.alice.id ? { plan: 'oficina-medium', quota: '5 GB', roles: ['Host5G'] } : { plan: 'free', quota: '1 GB' }),
    });
  });
  afterAll(async () => {
    await h.close();
  });

  it('puts email, name, quota (a string) and groups in the ID token when Nextcloud asks with the claims parameter', async () => {
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: NEXTCLOUD.redirectUri,
      scope: 'openid email profile',
      claims: NEXTCLOUD_CLAIMS,
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state: p.state,
      nonce: p.nonce,
    });
    const callback = await h.signIn(new Browser(), url, NEXTCLOUD.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce });
    const idToken = decodeJwt(tokens.id_token!);
    expect(idToken).toMatchObject({ sub: h.alice.id, email: 'alice@example.org', name: 'Alice Puig', quota: '5 GB', groups: ['cc-femprocomuns'] });
    expect(typeof idToken.quota).toBe('string');
    expect(typeof idToken.sid).toBe('string');
  });

  it('keeps scope claims out of the ID token without the claims parameter, and serves them at userinfo (Discourse)', async () => {
    const browser = new Browser();
    const cfg = await h.client(DISCOURSE.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid email profile plan', state: p.state, nonce: p.nonce });
    const callback = await h.signIn(browser, url, DISCOURSE.redirectUri, 'bob@example.org');
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { expectedState: p.state, expectedNonce: p.nonce });
    const idToken = decodeJwt(tokens.id_token!);
    expect(idToken.sub).toBe(h.bob.id);
    expect(idToken.nonce).toBe(p.nonce);
    expect(idToken.email).toBeUndefined();
    const info = await oidc.fetchUserInfo(cfg, tokens.access_token, h.bob.id);
    expect(info).toEqual({
      sub: h.bob.id,
      email: 'bob@example.org',
      email_verified: false,
      name: 'Bob Serra',
      preferred_username: 'bob',
      plan: 'free',
      quota: '1 GB',
    });
  });

  it('gives Greenlight its role in org_details.roles with the fixed scope openid email profile', async () => {
    const cfg = await h.client(DISCOURSE.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid email profile', state: p.state, nonce: p.nonce });
    const callback = await h.signIn(new Browser(), url, DISCOURSE.redirectUri);
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { expectedState: p.state, expectedNonce: p.nonce });
    const info = await oidc.fetchUserInfo(cfg, tokens.access_token, h.alice.id);
    expect(info.org_details).toEqual({ roles: 'Host5G' });
    expect(info.quota).toBeUndefined(); // plan and quota need the `plan` scope
  });

  it('stops serving a suspended account: its refresh token no longer works', async () => {
    const browser = new Browser();
    const cfg = await h.client(DISCOURSE.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid', state: p.state, nonce: p.nonce });
    const carol = await h.directory.createAccount({ username: 'carol', email: 'carol@example.org', name: 'Carol', password: 'another long password' });
    const callback = await h.signIn(browser, url, DISCOURSE.redirectUri, 'carol', 'another long password');
    const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { expectedState: p.state, expectedNonce: p.nonce });
    await h.directory.updateAccount(carol.id, { status: 'suspended' });
    await expect(oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.fetchUserInfo(cfg, tokens.access_token, carol.id)).rejects.toBeTruthy();
  });

  it('builds claims from the account, memberships and entitlements, and never emits a number or a malformed quota', () => {
    const account = { id: 'a1', username: 'núria', email: 'n@example.org', emailVerified: true, name: 'Núria', status: 'active' as const, platformAdmin: false, createdAt: 0 };
    const memberships = [{ collectiveId: 'femprocomuns', manager: true, grants: [] }, { collectiveId: 'meet', manager: false, grants: [] }];
    const claims = accountClaims({ account, memberships, entitlements: { plan: 'supporter', quota: '10 GB', roles: ['Host1G'] }, groupsPrefix: 'cc-' });
    expect(claims).toEqual({
      sub: 'a1',
      email: 'n@example.org',
      email_verified: true,
      name: 'Núria',
      preferred_username: 'núria',
      groups: ['cc-femprocomuns', 'cc-meet'],
      plan: 'supporter',
      quota: '10 GB',
      org_details: { roles: 'Host1G' },
    });
    const odd = accountClaims({ account, memberships: [], entitlements: { plan: 'x', quota: '5 GiB' }, groupsPrefix: '' });
    expect(odd.quota).toBe('0 B');
    for (const ok of ['none', 'default', '1 GB', '5GB', '1073741824', '15 gb', '1.5 TB']) expect(isNextcloudQuota(ok)).toBe(true);
    for (const bad of ['5 GiB', 'unlimited', '', '-1', 'GB']) expect(isNextcloudQuota(bad)).toBe(false);
  });
});
