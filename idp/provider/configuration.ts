/**
 * The one place where oidc-provider is configured. Each setting that departs from the library's
 * default says why; the requirements come from docs/reference integrations (Nextcloud user_oidc,
 * Discourse, Greenlight) and the Porta design.
 */
import type { Configuration, KoaContextWithOIDC, ResourceServer, Grant, UnknownObject, FindAccount } from 'oidc-provider';
import { errors, interactionPolicy } from 'oidc-provider';
import type { Logger } from 'pino';
import type { PortaConfig } from '../../config/schema/index.ts';
import type { AdapterClass } from './adapter.ts';
import type { ClientRegistry } from './clients.ts';
import type { SigningJwk } from './keys.ts';
import { CLAIMS_BY_SCOPE } from './claims.ts';
import { renderProviderError, renderLogout, renderLoggedOut } from '../interactions/provider-pages.ts';

/** Resource indicator of the admin API (RFC 8707); its tokens carry the audience `config.idp.adminAudience`. */
export const ADMIN_RESOURCE = 'urn:porta:admin';
/** Scopes a JWT access token for a Porta resource server may carry. */
const RESOURCE_SCOPES = 'openid email profile groups plan';

export const ACR_1FA = 'urn:porta:acr:1fa';
export const ACR_2FA = 'urn:porta:acr:2fa';

/**
 * oidc-provider's default prompts, with one more login check: a client that asks for
 * `acr_values=urn:porta:acr:2fa` while the session's login used one factor gets the login prompt
 * again (the interaction then asks for the second factor, or enrols one).
 */
function interactionPolicyWithAcr(): interactionPolicy.Prompt[] {
  const policy = interactionPolicy.base();
  const login = policy.get('login');
  login?.checks.add(
    new interactionPolicy.Check('acr_2fa', 'a second factor was requested', 'login_required', (ctx) => {
      const requested = typeof ctx.oidc.params?.acr_values === 'string' ? ctx.oidc.params.acr_values.split(' ') : [];
      if (requested.includes(ACR_2FA) && ctx.oidc.session?.acr !== ACR_2FA) return interactionPolicy.Check.REQUEST_PROMPT;
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }),
  );
  return policy;
}

export interface ConfigurationDeps {
  config: PortaConfig;
  clients: ClientRegistry;
  adapter: AdapterClass;
  jwks: SigningJwk[];
  cookieKeys: string[];
  findAccount: FindAccount;
  logger: Logger;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

export function providerConfiguration(deps: ConfigurationDeps): Configuration {
  const { config, clients } = deps;
  const gatewayResource = stripSlash(config.gateway.publicUrl);
  const isFirstParty = (clientId: string) => clients.policies.get(clientId)?.firstParty === true;
  const builtIn = (clientId: string) => clients.policies.get(clientId)?.builtIn ?? false;

  const resourceServers = (clientId: string): Record<string, ResourceServer> => {
    const servers: Record<string, ResourceServer> = {
      [gatewayResource]: {
        scope: RESOURCE_SCOPES,
        audience: gatewayResource,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.idp.accessTokenTtlSeconds,
        jwt: { sign: { alg: 'RS256' } },
      },
    };
    // Only Porta's admin UI may hold admin-API tokens: a service signing a user in (even a trusted,
    // first-party one) must not be able to act as that user on the admin API.
    if (builtIn(clientId) === 'admin-ui') {
      servers[ADMIN_RESOURCE] = {
        scope: RESOURCE_SCOPES,
        audience: config.idp.adminAudience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: config.idp.accessTokenTtlSeconds,
        jwt: { sign: { alg: 'RS256' } },
      };
    }
    return servers;
  };

  /** First-party clients get the requested scopes, claims and resource scopes without a consent page. */
  async function loadExistingGrant(ctx: KoaContextWithOIDC): Promise<Grant | undefined> {
    const { oidc } = ctx;
    const client = oidc.client;
    if (!client || !oidc.session?.accountId) return undefined;
    const grantId = (oidc.result?.consent as { grantId?: string } | undefined)?.grantId || oidc.session.grantIdFor(client.clientId);
    let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
    if (grant && grant.accountId !== oidc.session.accountId) grant = undefined;
    if (!isFirstParty(client.clientId)) return grant;
    grant ??= new oidc.provider.Grant({ clientId: client.clientId, accountId: oidc.session.accountId });
    const scopes = [...oidc.requestParamScopes].join(' ');
    if (scopes) grant.addOIDCScope(scopes);
    const claims = [...oidc.requestParamClaims];
    if (claims.length > 0) grant.addOIDCClaims(claims);
    for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
      const allowed = [...oidc.requestParamScopes].filter((s) => server.scopes.has(s));
      if (allowed.length > 0) grant.addResourceScope(indicator, allowed.join(' '));
    }
    await grant.save();
    return grant;
  }

  return {
    adapter: deps.adapter,
    clients: clients.metadata,
    findAccount: deps.findAccount,
    jwks: { keys: deps.jwks },
    cookies: {
      keys: deps.cookieKeys,
      names: { session: 'porta_session', interaction: 'porta_interaction', resume: 'porta_resume' },
    },
    // `acr` and `amr` come with `openid`: every ID token says how the person signed in (second factor).
    claims: { ...Object.fromEntries(Object.entries(CLAIMS_BY_SCOPE).map(([scope, names]) => [scope, [...names]])), openid: ['sub', 'acr', 'amr'] },
    scopes: ['openid', 'offline_access', 'email', 'profile', 'groups', 'plan'],
    // Keep the spec default (scope claims in userinfo) and let Nextcloud ask for ID-token claims with
    // the `claims` parameter, which user_oidc always sends.
    conformIdTokenClaims: true,
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      clientCredentials: { enabled: true },
      introspection: {
        enabled: true,
        // A client may introspect its own tokens; the gateway (a resource server) any token.
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId || builtIn(client.clientId) === 'gateway',
      },
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx, client, token) => token.clientId === client.clientId,
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: renderLogout,
        postLogoutSuccessSource: renderLoggedOut,
      },
      backchannelLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (_ctx, _client, oneOf) => oneOf,
        // A code issued for one resource gives that resource's JWT access token without repeating `resource`.
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
          const server = resourceServers(client.clientId)[stripSlash(resourceIndicator)];
          if (!server) throw new errors.InvalidTarget();
          return server;
        },
      },
    },
    pkce: {
      // S256 is the only method oidc-provider 9 implements. Public clients always need PKCE; a
      // confidential one unless configured otherwise (Discourse and Greenlight send none).
      required: (_ctx, client) => client.clientAuthMethod === 'none' || clients.policies.get(client.clientId)?.requirePkce !== false,
    },
    rotateRefreshToken: true,
    // Refresh tokens for every client allowed the grant; without offline_access they end with the session.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    loadExistingGrant,
    extraTokenClaims: async (ctx) => {
      const source = ctx.oidc.entities.AuthorizationCode ?? ctx.oidc.entities.RefreshToken;
      const amr = (source as { amr?: string[] } | undefined)?.amr;
      return amr ? ({ amr } as UnknownObject) : undefined;
    },
    clientBasedCORS: (_ctx, origin, client) =>
      (client.redirectUris ?? []).some((uri) => {
        try {
          return new URL(uri).origin === origin;
        } catch {
          return false;
        }
      }),
    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}`, policy: interactionPolicyWithAcr() },
    // `acr` of a login: one factor (password or passkey alone without verification) or two.
    acrValues: [ACR_1FA, ACR_2FA],
    renderError: renderProviderError(deps.logger),
    ttl: {
      AccessToken: config.idp.accessTokenTtlSeconds,
      ClientCredentials: config.idp.accessTokenTtlSeconds,
      AuthorizationCode: config.idp.authorizationCodeTtlSeconds,
      IdToken: config.idp.idTokenTtlSeconds,
      RefreshToken: config.idp.refreshTokenTtlSeconds,
      Interaction: 3600,
      Session: config.idp.sessionTtlSeconds,
      Grant: Math.max(config.idp.refreshTokenTtlSeconds, config.idp.sessionTtlSeconds),
    },
    enabledJWA: { idTokenSigningAlgValues: ['RS256'] },
    // Outbound requests go only to URLs the operator configured (back-channel logout of static
    // clients; dynamic registration is off). Those are often on loopback or a private network (the
    // gateway, an internal Nextcloud), which oidc-provider's SSRF guard would refuse, so it is lifted.
    fetch: (url, options) => {
      const { dispatcher: _guard, ...rest } = options as RequestInit & { dispatcher?: unknown };
      return globalThis.fetch(url, rest);
    },
  };
}
