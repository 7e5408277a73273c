/**
 * The main OpenID Connect flows, driven by openid-client as the relying party over real HTTP with the
 * login form submitted like a browser. Runs against each store implementation.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeJwt } from 'jose';
import { Browser, readForm } from './helpers/browser.ts';
import { gatewayClientSecret } from '../../idp/provider/clients.ts';
import { grantsRevoked } from '../../idp/metrics.ts';
import { startIdp, pkce, NEXTCLOUD, DISCOURSE, SERVICE, GATEWAY_URL, type IdpHarness, type StoreChoice } from './helpers/harness.ts';

export function runFlowSuite(name: string, store: () => Promise<{ choice: StoreChoice; cleanup(): Promise<void> }>): void {
  describe(`OIDC flows over the ${name} store`, () => {
    let h: IdpHarness;
    let cleanupStore: () => Promise<void>;

    beforeAll(async () => {
      const s = await store();
      cleanupStore = s.cleanup;
      h = await startIdp({ store: s.choice });
    });
    afterAll(async () => {
      await h?.close();
      await cleanupStore?.();
    });

    /** Signs alice in through the Nextcloud-like client (consent page included) and redeems the code. */
    async function nextcloudLogin(browser = new Browser()) {
      const cfg = await h.client(NEXTCLOUD.clientId);
      const p = await pkce();
      const url = oidc.buildAuthorizationUrl(cfg, {
        redirect_uri: NEXTCLOUD.redirectUri,
        scope: 'openid email profile groups plan',
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
        state: p.state,
        nonce: p.nonce,
      });
      const callback = await h.signIn(browser, url, NEXTCLOUD.redirectUri);
      const tokens = await oidc.authorizationCodeGrant(cfg, new URL(callback), { pkceCodeVerifier: p.verifier, expectedState: p.state, expectedNonce: p.nonce });
      return { cfg, tokens, browser };
    }

    it('publishes discovery with what the clients rely on, and leaves other paths to the host app', async () => {
      const cfg = await h.client(NEXTCLOUD.clientId);
      const meta = cfg.serverMetadata();
      expect(meta.issuer).toBe(h.issuer);
      expect(meta.code_challenge_methods_supported).toEqual(['S256']);
      expect(meta.claims_parameter_supported).toBe(true);
      expect(meta.backchannel_logout_supported).toBe(true);
      expect(meta.backchannel_logout_session_supported).toBe(true);
      expect(meta.end_session_endpoint).toBe(`${h.issuer}/session/end`);
      expect(meta.userinfo_endpoint).toBe(`${h.issuer}/me`);
      expect(meta.token_endpoint_auth_methods_supported).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post', 'none']));
      expect(meta.scopes_supported).toEqual(expect.arrayContaining(['openid', 'email', 'profile', 'groups', 'plan', 'offline_access']));
      expect(meta.claims_supported).toEqual(expect.arrayContaining(['sub', 'email', 'email_verified', 'name', 'preferred_username', 'groups', 'plan', 'quota', 'sid']));
      expect(meta.grant_types_supported).toEqual(expect.arrayContaining(['authorization_code', 'refresh_token', 'client_credentials']));
      expect((await fetch(`${h.issuer}/.well-known/oauth-authorization-server`)).status).toBe(200);
      // Other well-known paths reach the host app (express's own 404 here), not the provider.
      const securityTxt = await fetch(`${h.issuer}/.well-known/security.txt`);
      expect(securityTxt.status).toBe(404);
      expect(await securityTxt.text()).toContain('Cannot GET /.well-known/security.txt');
      const other = await fetch(`${h.issuer}/api/v1/ping`);
      expect(other.status).toBe(200);
      expect(await other.json()).toEqual({ pong: true });
    });

    it('signs in with authorization code + PKCE and issues an ID token with sid, and userinfo with Porta claims', async () => {
      const { cfg, tokens } = await nextcloudLogin();
      const claims = tokens.claims()!;
      expect(claims.sub).toBe(h.alice.id);
      expect(claims.iss).toBe(h.issuer);
      expect(claims.aud).toBe(NEXTCLOUD.clientId);
      expect(typeof claims.sid).toBe('string');
      expect(tokens.refresh_token).toEqual(expect.any(String));
      const info = await oidc.fetchUserInfo(cfg, tokens.access_token, h.alice.id);
      expect(info).toMatchObject({
        sub: h.alice.id,
        email: 'alice@example.org',
        email_verified: true,
        name: 'Alice Puig',
        preferred_username: 'alice',
        groups: ['cc-femprocomuns'],
        plan: 'free',
        quota: 'none',
      });
    });

    it('rotates refresh tokens and treats a replayed one as theft: the whole grant is revoked', async () => {
      const { cfg, tokens } = await nextcloudLogin();
      const first = tokens.refresh_token!;
      const second = await oidc.refreshTokenGrant(cfg, first);
      expect(second.refresh_token).toEqual(expect.any(String));
      expect(second.refresh_token).not.toBe(first);
      expect(second.access_token).not.toBe(tokens.access_token);
      const revokedBefore = (await grantsRevoked.get()).values[0]?.value ?? 0;
      await expect(oidc.refreshTokenGrant(cfg, first)).rejects.toMatchObject({ error: 'invalid_grant' });
      expect((await grantsRevoked.get()).values[0]?.value).toBe(revokedBefore + 1);
      // The reuse revoked the grant: the rotated token and the access tokens are dead too.
      await expect(oidc.refreshTokenGrant(cfg, second.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
      const introspected = await oidc.tokenIntrospection(cfg, second.access_token);
      expect(introspected.active).toBe(false);
    });

    it('gives a service a JWT access token for the gateway by client credentials, verifiable with the JWKS', async () => {
      const cfg = await h.client(SERVICE.clientId);
      const tokens = await oidc.clientCredentialsGrant(cfg, { resource: GATEWAY_URL });
      const jwks = createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(tokens.access_token, jwks, { issuer: h.issuer, audience: GATEWAY_URL, typ: 'at+jwt' });
      expect(protectedHeader.alg).toBe('RS256');
      expect(payload.client_id).toBe(SERVICE.clientId);
      await expect(h.idp.verifyAccessToken(tokens.access_token, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId, clientId: SERVICE.clientId });
      await expect(h.idp.verifyAccessToken(tokens.access_token, 'porta-admin')).rejects.toMatchObject({ status: 401 });
      await expect(oidc.clientCredentialsGrant(cfg, { resource: 'http://elsewhere.test' })).rejects.toMatchObject({ error: 'invalid_target' });
    });

    it('issues JWT access tokens for the admin API to the admin UI only (public client, PKCE)', async () => {
      const browser = new Browser();
      const adminUi = await h.client('porta-admin-ui');
      const redirectUri = `${h.issuer}/admin/callback`;
      const p = await pkce();
      const url = oidc.buildAuthorizationUrl(adminUi, {
        redirect_uri: redirectUri,
        scope: 'openid email profile groups plan',
        code_challenge: p.challenge,
        code_challenge_method: 'S256',
        state: p.state,
        resource: 'urn:porta:admin',
      });
      const callback = await h.signIn(browser, url, redirectUri);
      const tokens = await oidc.authorizationCodeGrant(adminUi, new URL(callback), { pkceCodeVerifier: p.verifier, expectedState: p.state }, { resource: 'urn:porta:admin' });
      const verified = await h.idp.verifyAccessToken(tokens.access_token, 'porta-admin');
      expect(verified).toMatchObject({ sub: h.alice.id, amr: ['pwd'], clientId: 'porta-admin-ui' });
      // The rotated refresh token keeps giving admin-API tokens.
      const refreshed = await oidc.refreshTokenGrant(adminUi, tokens.refresh_token!, { resource: 'urn:porta:admin' });
      await expect(h.idp.verifyAccessToken(refreshed.access_token, 'porta-admin')).resolves.toMatchObject({ sub: h.alice.id });
      // Services, even first-party ones that skip consent, may not ask for the admin API.
      for (const [clientId, redirect] of [[DISCOURSE.clientId, DISCOURSE.redirectUri], [NEXTCLOUD.clientId, NEXTCLOUD.redirectUri]] as const) {
        const cfg = await h.client(clientId);
        const q = await pkce();
        const refused = await browser.request(
          oidc.buildAuthorizationUrl(cfg, { redirect_uri: redirect, scope: 'openid', code_challenge: q.challenge, code_challenge_method: 'S256', state: q.state, resource: 'urn:porta:admin' }).href,
        );
        expect(refused.location).toContain('error=invalid_target');
      }
    });

    it('introspects a token for the client it was issued to, and not for an unrelated one', async () => {
      const { cfg, tokens } = await nextcloudLogin();
      const mine = await oidc.tokenIntrospection(cfg, tokens.access_token);
      expect(mine).toMatchObject({ active: true, sub: h.alice.id, client_id: NEXTCLOUD.clientId });
      const other = await h.client(SERVICE.clientId);
      const theirs = await oidc.tokenIntrospection(other, tokens.access_token);
      expect(theirs.active).toBe(false);
      // The gateway is a resource server for every service: it may introspect any token.
      const gateway = await h.client(h.config.gateway.clientId, await gatewayClientSecret(h.config, h.stores.documents));
      expect(await oidc.tokenIntrospection(gateway, tokens.access_token)).toMatchObject({ active: true, sub: h.alice.id });
    });

    it('revokes a refresh token and an access token', async () => {
      const { cfg, tokens } = await nextcloudLogin();
      await oidc.tokenRevocation(cfg, tokens.access_token);
      expect((await oidc.tokenIntrospection(cfg, tokens.access_token)).active).toBe(false);
      await expect(oidc.fetchUserInfo(cfg, tokens.access_token, h.alice.id)).rejects.toBeTruthy();
      await oidc.tokenRevocation(cfg, tokens.refresh_token!);
      await expect(oidc.refreshTokenGrant(cfg, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('logs out at the RP’s request after confirmation and tells the RP by back-channel with a signed logout token', async () => {
      const { cfg, tokens, browser } = await nextcloudLogin();
      const idToken = tokens.id_token!;
      const sid = decodeJwt(idToken).sid;
      const before = h.backchannel.received.length;
      const endSession = oidc.buildEndSessionUrl(cfg, { id_token_hint: idToken, post_logout_redirect_uri: NEXTCLOUD.postLogout });
      const confirm = await browser.follow(endSession.href);
      expect(confirm.status).toBe(200);
      expect(confirm.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(confirm.body).not.toMatch(/<script/i);
      const form = readForm(confirm, '/session/end/confirm');
      const done = await browser.follow(form.action, [NEXTCLOUD.postLogout], { form: { ...form.fields, logout: 'yes' } });
      expect(done.location).toBe(NEXTCLOUD.postLogout);

      await h.backchannel.waitFor(before + 1);
      const delivery = h.backchannel.received[before]!;
      expect(delivery.path).toBe('/backchannel-logout/oficina');
      const logoutToken = delivery.form.get('logout_token')!;
      const jwks = createRemoteJWKSet(new URL(cfg.serverMetadata().jwks_uri!));
      const { payload, protectedHeader } = await jwtVerify(logoutToken, jwks, { issuer: h.issuer, audience: NEXTCLOUD.clientId });
      expect(protectedHeader.typ).toBe('logout+jwt');
      expect(payload.sid).toBe(sid);
      expect(payload.sub).toBe(h.alice.id);
      expect(payload.events).toEqual({ 'http://schemas.openid.net/event/backchannel-logout': {} });
      expect(payload.nonce).toBeUndefined();

      // The IdP session is gone: the next sign-in shows the login page again.
      const p = await pkce();
      const again = await browser.follow(
        oidc.buildAuthorizationUrl(cfg, { redirect_uri: NEXTCLOUD.redirectUri, scope: 'openid', code_challenge: p.challenge, code_challenge_method: 'S256', state: p.state }).href,
        [NEXTCLOUD.redirectUri],
      );
      expect(again.status).toBe(200);
      expect(again.body).toContain('name="password"');
    });
  });
}
