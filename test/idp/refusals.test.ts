/** What the IdP must refuse, as the OAuth 2.0 / OIDC specifications say. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { Browser } from './helpers/browser.ts';
import { startIdp, pkce, NEXTCLOUD, DISCOURSE, SPA, type IdpHarness } from './helpers/harness.ts';

describe('refused requests', () => {
  let h: IdpHarness;
  beforeAll(async () => {
    h = await startIdp();
  });
  afterAll(async () => {
    await h.close();
  });

  async function codeFor(browser = new Browser()) {
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, {
      redirect_uri: NEXTCLOUD.redirectUri,
      scope: 'openid email',
      code_challenge: p.challenge,
      code_challenge_method: 'S256',
      state: p.state,
    });
    const callback = await h.signIn(browser, url, NEXTCLOUD.redirectUri);
    return { cfg, p, callback: new URL(callback), browser };
  }

  it.each([
    ['an unregistered URI', 'http://evil.test/steal'],
    ['a trailing-slash look-alike', `${NEXTCLOUD.redirectUri}/`],
    ['a look-alike host', 'http://oficina.test.evil.test/index.php/apps/user_oidc/code'],
    ['an extra query', `${NEXTCLOUD.redirectUri}?next=http://evil.test`],
    ['another case', NEXTCLOUD.redirectUri.toUpperCase()],
  ])('refuses %s as redirect_uri with an error page and no redirect anywhere', async (_label, redirectUri) => {
    const cfg = await h.client(NEXTCLOUD.clientId);
    const p = await pkce();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: redirectUri, scope: 'openid', code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state });
    const page = await new Browser().request(url.href);
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.body).toContain('redirect_uri');
    expect(page.body).not.toMatch(/href="http:\/\/(evil|oficina\.test\.evil)/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('refuses a code used twice and revokes what the first use issued', async () => {
    const { cfg, p, callback } = await codeFor();
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: p.verifier, expectedState: p.state });
    expect((await oidc.tokenIntrospection(cfg, tokens.access_token)).active).toBe(true);
    await expect(oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: p.verifier, expectedState: p.state })).rejects.toMatchObject({ error: 'invalid_grant' });
    expect((await oidc.tokenIntrospection(cfg, tokens.access_token)).active).toBe(false);
    await expect(oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('lets only one of two simultaneous redemptions of a code succeed, and revokes the grant', async () => {
    const { cfg, p, callback } = await codeFor();
    const redeem = () => oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: p.verifier, expectedState: p.state });
    const results = await Promise.allSettled([redeem(), redeem()]);
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof redeem>>> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toMatchObject({ error: 'invalid_grant' });
    await expect(oidc.refreshTokenGrant(cfg, won[0]!.value.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a wrong PKCE verifier', async () => {
    const { cfg, p, callback } = await codeFor();
    const wrong = oidc.randomPKCECodeVerifier();
    await expect(oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: wrong, expectedState: p.state })).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('refuses a downgrade to the plain PKCE method', async () => {
    const cfg = await h.client(NEXTCLOUD.clientId);
    const verifier = oidc.randomPKCECodeVerifier();
    const url = oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid', code_challenge: verifier, code_challenge_method: 'plain', state: 'x' });
    const page = await new Browser().request(url.href);
    expect(page.location).toBeDefined();
    const answer = new URL(page.location!);
    expect(answer.href.startsWith(NEXTCLOUD.redirectUri)).toBe(true);
    expect(answer.searchParams.get('error')).toBe('invalid_request');
    expect(answer.searchParams.get('error_description')).toMatch(/code_challenge_method/);
    expect(answer.searchParams.get('code')).toBeNull();
  });

  it('requires PKCE from public clients and from confidential ones configured so, not from Discourse', async () => {
    for (const [clientId, redirectUri] of [[SPA.clientId, SPA.redirectUri], [NEXTCLOUD.clientId, NEXTCLOUD.redirectUri]] as const) {
      const cfg = await h.client(clientId);
      const page = await new Browser().request(oidc.buildAuthorizationUrl(cfg, { redirect_uri: redirectUri, scope: 'openid', state: 's' }).href);
      const answer = new URL(page.location!);
      expect(answer.searchParams.get('error')).toBe('invalid_request');
      expect(answer.searchParams.get('error_description')).toMatch(/PKCE/);
    }
    const discourse = await h.client(DISCOURSE.clientId);
    const page = await new Browser().request(oidc.buildAuthorizationUrl(discourse, { redirect_uri: DISCOURSE.redirectUri, scope: 'openid', state: 's', nonce: 'n' }).href);
    expect(page.location).toMatch(/\/interaction\//);
  });

  it('refuses a wrong client secret at the token endpoint', async () => {
    const { p, callback } = await codeFor();
    const wrong = await h.client(NEXTCLOUD.clientId, 'not-the-secret-0123456789abcdef');
    await expect(oidc.authorizationCodeGrant(wrong, callback, { pkceCodeVerifier: p.verifier, expectedState: p.state })).rejects.toMatchObject({ error: 'invalid_client', status: 401 });
  });

  it('refuses an expired code', async () => {
    const { cfg, p, callback } = await codeFor();
    h.clock.advance((h.config.idp.authorizationCodeTtlSeconds + 1) * 1000);
    await expect(oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: p.verifier, expectedState: p.state })).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('does not take an ID token, or a token for another audience, as an access token', async () => {
    const { cfg, p, callback } = await codeFor();
    const tokens = await oidc.authorizationCodeGrant(cfg, callback, { pkceCodeVerifier: p.verifier, expectedState: p.state });
    await expect(h.idp.verifyAccessToken(tokens.id_token!, NEXTCLOUD.clientId)).rejects.toMatchObject({ status: 401, code: 'invalid_token' });
    await expect(h.idp.verifyAccessToken(tokens.access_token, NEXTCLOUD.clientId)).rejects.toMatchObject({ status: 401 });
    await expect(h.idp.verifyAccessToken('not.a.jwt', 'porta-admin')).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a client that is not registered', async () => {
    const cfg = await h.client('nobody', 'whatever-secret-0123456789abcdef');
    const page = await new Browser().request(oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid' }).href);
    expect(page.status).toBe(400);
    expect(page.location).toBeUndefined();
    expect(page.body).toContain('invalid_client');
  });
});
