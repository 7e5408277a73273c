/**
 * The OIDC clients: those declared in `config.idp.clients` plus two built-ins, the gateway
 * (confidential, back-channel logout) and the admin UI (public, PKCE). Porta's own per-client
 * policies (skip consent, PKCE for confidential clients) live beside the oidc-provider metadata.
 */
import type { ClientMetadata } from 'oidc-provider';
import type { PortaConfig, ClientConfig } from '../../config/schema/index.ts';
import type { DocumentStore } from '../../store/types.ts';
import { randomToken } from '../../kernel/ids.ts';

export const ADMIN_UI_CLIENT_ID = 'porta-admin-ui';

/** What Porta decides per client beyond the standard metadata. */
export interface ClientPolicy {
  firstParty: boolean;
  /** PKCE (S256) required even though the client is confidential. Public clients always need it. */
  requirePkce: boolean;
  /**
   * Part of Porta itself (admin UI, gateway), not a hosted service: may hold admin-API tokens (admin
   * UI) or introspect any token (gateway). A configured client never is, even when first-party.
   */
  builtIn: 'admin-ui' | 'gateway' | false;
}

export interface ClientRegistry {
  metadata: ClientMetadata[];
  policies: Map<string, ClientPolicy>;
}

const SECRETS = 'idp-secrets';

/** The gateway's client secret: from config, or generated once and kept in the store (every process sees the same). */
export async function gatewayClientSecret(config: PortaConfig, documents: DocumentStore): Promise<string> {
  if (config.gateway.clientSecret) return config.gateway.clientSecret;
  const id = `client:${config.gateway.clientId}`;
  const existing = await documents.get<{ secret: string }>(SECRETS, id);
  if (existing) return existing.secret;
  const secret = randomToken(32);
  if ((await documents.writeVersioned(SECRETS, id, { secret }, 0)) !== undefined) return secret;
  const theirs = await documents.get<{ secret: string }>(SECRETS, id);
  if (!theirs) throw new Error('the gateway client secret vanished while being created');
  return theirs.secret;
}

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function fromConfig(client: ClientConfig): ClientMetadata {
  const method = client.tokenEndpointAuthMethod ?? (client.clientSecret ? 'client_secret_basic' : 'none');
  const usesCode = client.grantTypes.includes('authorization_code');
  const metadata: ClientMetadata = {
    client_id: client.clientId,
    client_name: client.name ?? client.clientId,
    redirect_uris: [...client.redirectUris],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    grant_types: [...client.grantTypes],
    response_types: usesCode ? ['code'] : [],
    token_endpoint_auth_method: method,
    scope: client.scope,
  };
  if (method !== 'none' && client.clientSecret) metadata.client_secret = client.clientSecret;
  if (client.backchannelLogoutUri) {
    metadata.backchannel_logout_uri = client.backchannelLogoutUri;
    metadata.backchannel_logout_session_required = true;
  }
  return metadata;
}

export async function buildClients(config: PortaConfig, documents: DocumentStore): Promise<ClientRegistry> {
  const metadata: ClientMetadata[] = [];
  const policies = new Map<string, ClientPolicy>();
  const gatewayUrl = stripSlash(config.gateway.publicUrl);
  const issuer = stripSlash(config.idp.issuer);

  metadata.push({
    client_id: config.gateway.clientId,
    client_name: 'Porta gateway',
    client_secret: await gatewayClientSecret(config, documents),
    token_endpoint_auth_method: 'client_secret_basic',
    redirect_uris: [`${gatewayUrl}/_porta/callback`],
    post_logout_redirect_uris: [`${gatewayUrl}/`],
    backchannel_logout_uri: `${gatewayUrl}/_porta/backchannel-logout`,
    backchannel_logout_session_required: true,
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid email profile groups plan offline_access',
  });
  policies.set(config.gateway.clientId, { firstParty: true, requirePkce: true, builtIn: 'gateway' });

  metadata.push({
    client_id: ADMIN_UI_CLIENT_ID,
    client_name: 'Porta administration',
    token_endpoint_auth_method: 'none',
    redirect_uris: [`${issuer}/admin/callback`],
    post_logout_redirect_uris: [`${issuer}/admin/`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    scope: 'openid email profile groups plan offline_access',
  });
  policies.set(ADMIN_UI_CLIENT_ID, { firstParty: true, requirePkce: true, builtIn: 'admin-ui' });

  for (const client of config.idp.clients) {
    if (policies.has(client.clientId)) {
      throw new Error(`idp.clients: client id "${client.clientId}" is taken by a built-in client`);
    }
    metadata.push(fromConfig(client));
    policies.set(client.clientId, { firstParty: client.firstParty, requirePkce: client.requirePkce, builtIn: false });
  }
  return { metadata, policies };
}
