/**
 * A small but real OpenID Provider (oidc-provider itself) for the gateway's tests: it issues RFC 9068
 * JWT access tokens for the gateway's resource, ID tokens with `sid`, refresh tokens, and performs
 * back-channel logout. Login is automatic as `idp.nextUser` (the IdP's own pages are the IdP's
 * tests' business); logout goes through oidc-provider's real end-session confirmation.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';
import { generateKeyPair, exportJWK, SignJWT, type JWK, type CryptoKey } from 'jose';
import { freePort } from '../../helpers/ports.ts';

export interface TinyIdp {
  issuer: string;
  provider: Provider;
  /** The account the next login signs in as. */
  nextUser: string;
  /** Signs a token with the IdP's own key (for bearer tests). */
  sign(claims: Record<string, unknown>, options?: { typ?: string; expiresIn?: number | string; issuer?: string; audience?: string }): Promise<string>;
  close(): Promise<void>;
}

export const CLIENT_SECRET = 'gateway-test-secret-0123456789';

export async function startTinyIdp(options: { gatewayUrl: string; clientId?: string; accessTokenTtl?: number; port?: number }): Promise<TinyIdp> {
  const port = options.port ?? (await freePort());
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = options.clientId ?? 'porta-gateway';
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk: JWK = { ...(await exportJWK(privateKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const scope = 'openid email profile groups plan offline_access';

  const configuration: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`${options.gatewayUrl}/_porta/callback`],
        post_logout_redirect_uris: [`${options.gatewayUrl}/`],
        backchannel_logout_uri: `${options.gatewayUrl}/_porta/backchannel-logout`,
        backchannel_logout_session_required: true,
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: ['a-cookie-key-for-the-tests-0123456789'] },
    pkce: { required: () => true },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', 'plan'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'], groups: ['groups'], plan: ['plan'] },
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      backchannelLogout: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: async (ctx, form) => {
          ctx.body = `<!doctype html><html><body>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button></body></html>`;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => options.gatewayUrl,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== options.gatewayUrl) throw new Error('unknown resource');
          return { scope, audience: options.gatewayUrl, accessTokenFormat: 'jwt', accessTokenTTL: options.accessTokenTtl ?? 600, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    findAccount: async (_ctx, id) => ({
      accountId: id,
      claims: async () => ({ sub: id, email: `${id}@example.coop`, email_verified: true, name: `Person ${id}`, preferred_username: id, groups: ['femprocomuns'], plan: 'free' }),
    }),
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId });
      grant.addOIDCScope(scope);
      grant.addOIDCClaims(['email', 'email_verified', 'name', 'preferred_username', 'groups', 'plan']);
      grant.addResourceScope(options.gatewayUrl, scope);
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    ttl: { AccessToken: options.accessTokenTtl ?? 600 },
  };

  const provider = new Provider(issuer, configuration);
  const callback = provider.callback();
  const idp: TinyIdp = {
    issuer,
    provider,
    nextUser: 'ana',
    async sign(claims, signOptions = {}) {
      return new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key', typ: signOptions.typ ?? 'at+jwt' })
        .setIssuer(signOptions.issuer ?? issuer)
        .setAudience(signOptions.audience ?? options.gatewayUrl)
        .setIssuedAt()
        .setExpirationTime(signOptions.expiresIn ?? '10m')
        .sign(privateKey as CryptoKey);
    },
    close: async () => undefined,
  };

  const server = http.createServer((req, res) => {
    if (req.url?.startsWith('/interaction/')) {
      provider
        .interactionFinished(req, res, { login: { accountId: idp.nextUser } }, { mergeWithLastSubmission: false })
        .catch((error: unknown) => {
          res.writeHead(500).end(String(error));
        });
      return;
    }
    callback(req, res);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  idp.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  void (server.address() as AddressInfo);
  return idp;
}
