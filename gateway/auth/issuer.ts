/**
 * The IdP as the gateway sees it: its discovery document (fetched on first use, retried on
 * failure), its JWKS (jose's remote set, cached, refetched when an unknown `kid` appears) and an
 * `openid-client` configuration for the gateway's own confidential client.
 */
import * as oidc from 'openid-client';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { AppError } from '../../kernel/errors.ts';

export interface IssuerClient {
  readonly issuer: string;
  /** Server metadata plus the client configuration; rejects with a 503 AppError while the IdP cannot be reached. */
  client(): Promise<oidc.Configuration>;
  /** Key resolver for `jwtVerify`. */
  keys(): Promise<JWTVerifyGetKey>;
}

const idpUnavailable = (cause: unknown) =>
  new AppError(503, 'idp_unavailable', 'The sign-in service cannot be reached right now; try again in a moment.', { cause, detail: String(cause) });

export function createIssuerClient(options: { issuer: string; clientId: string; clientSecret: () => Promise<string | undefined> }): IssuerClient {
  const issuer = options.issuer.replace(/\/$/, '');
  let configuration: Promise<oidc.Configuration> | undefined;
  let jwks: JWTVerifyGetKey | undefined;

  async function load(): Promise<oidc.Configuration> {
    const response = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(5000) });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const metadata = (await response.json()) as oidc.ServerMetadata;
    if (metadata.issuer !== options.issuer && metadata.issuer !== issuer) throw new Error(`discovery names issuer ${metadata.issuer}, expected ${options.issuer}`);
    const secret = await options.clientSecret();
    const config = new oidc.Configuration(metadata, options.clientId, secret ? { client_secret: secret } : undefined, secret ? oidc.ClientSecretBasic(secret) : oidc.None());
    if (issuer.startsWith('http://')) oidc.allowInsecureRequests(config);
    return config;
  }

  function client(): Promise<oidc.Configuration> {
    configuration ??= load().catch((error: unknown) => {
      configuration = undefined; // try again on the next request
      throw idpUnavailable(error);
    });
    return configuration;
  }

  return {
    issuer: options.issuer,
    client,
    async keys() {
      if (jwks) return jwks;
      const uri = (await client()).serverMetadata().jwks_uri;
      if (!uri) throw idpUnavailable(new Error('discovery has no jwks_uri'));
      jwks = createRemoteJWKSet(new URL(uri), { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000 });
      return jwks;
    },
  };
}
