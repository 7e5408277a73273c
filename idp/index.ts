/**
 * The identity provider: oidc-provider configured for Porta, with its interaction pages, login
 * throttling and shared keys. `createIdp` returns an express router to mount at the root of the IdP
 * listener; it answers only its own paths and passes everything else (`/api/v1`, `/admin`) on.
 */
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import Provider from 'oidc-provider';
import { createLocalJWKSet, jwtVerify, errors as joseErrors } from 'jose';
import type { PortaConfig } from '../config/schema/index.ts';
import type { Stores } from '../store/types.ts';
import type { Directory } from '../directory/types.ts';
import type { Logger } from '../kernel/logger.ts';
import { systemClock, type Clock } from '../kernel/clock.ts';
import { AppError } from '../kernel/errors.ts';
import { createRateLimiter } from '../store/index.ts';
import { createAdapterClass } from './provider/adapter.ts';
import { guardOutages } from './provider/unavailable.ts';
import { buildClients, type ClientRegistry } from './provider/clients.ts';
import { loadSigningKeys, loadCookieKeys, publicJwks, KEYS_CHANNEL } from './provider/keys.ts';
import { createFindAccount } from './provider/find-account.ts';
import { providerConfiguration } from './provider/configuration.ts';
import type { EntitlementsLookup } from './provider/claims.ts';
import { createLoginThrottle, type LimiterFactory } from './regulation/login-throttle.ts';
import { interactionRouter } from './interactions/router.ts';
import { grantsRevoked } from './metrics.ts';
import { FactorStore } from './factors/factor-store.ts';
import { loadSecretBox } from './factors/secret-box.ts';
import { relyingPartyOf } from './factors/webauthn.ts';
import { accountFactorsRouter } from './factors/account-routes.ts';

export { ADMIN_RESOURCE } from './provider/configuration.ts';
export { ADMIN_UI_CLIENT_ID, gatewayClientSecret } from './provider/clients.ts';
export { rotateKeys, keyRetentionSeconds } from './provider/keys.ts';
export type { Entitlements, EntitlementsLookup } from './provider/claims.ts';

export interface IdpDeps {
  config: PortaConfig;
  stores: Stores;
  directory: Directory;
  /** Plan and quota of an account (policies/metering). Without it: plan `free`, quota `"none"`. */
  entitlements?: EntitlementsLookup;
  logger: Logger;
  clock?: Clock;
  /** Limiter factory for login throttling; default: rate-limiter-flexible over `stores`. */
  limiters?: LimiterFactory;
  /**
   * Whether an account must use a second factor (the policy's `secondFactor` section). Default:
   * platform admins and collective managers, as the default policy says.
   */
  secondFactorRequired?: (accountId: string) => Promise<boolean>;
}

/** What a verified JWT access token says. */
export interface VerifiedAccessToken {
  sub: string;
  amr?: string[];
  scope?: string;
  clientId?: string;
}

export interface Idp {
  handler: Router;
  /** The current oidc-provider instance (replaced when keys rotate). */
  readonly provider: Provider;
  /** Verifies a JWT access token (RFC 9068) issued by this IdP for `audience`; throws 401 otherwise. */
  verifyAccessToken(token: string, audience: string): Promise<VerifiedAccessToken>;
  /** Re-reads keys from the store and swaps in a provider using them (done on every rotation broadcast). */
  reloadKeys(): Promise<void>;
  /** Second factors of accounts (TOTP, passkeys, recovery codes). */
  readonly factors: FactorStore;
  close(): Promise<void>;
}

/** Paths oidc-provider answers (its default `routes`, the resume and logout sub-paths, discovery). */
const PROVIDER_PATHS = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server', '/auth', '/token', '/me', '/jwks', '/session/end', '/request', '/backchannel', '/device', '/reg'];

function isProviderPath(path: string): boolean {
  return PROVIDER_PATHS.some((p) => path === p || path.startsWith(`${p}/`));
}

/** Least time between two key reloads caused by an unknown `kid`. */
const RELOAD_INTERVAL_MS = 30_000;

const FORWARDED_HEADERS = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port'];

/** Whether express's `trust proxy` setting (from config.server.trustedProxies) trusts the peer. */
function fromTrustedProxy(req: Request): boolean {
  const trust = req.app.get('trust proxy fn') as ((address: string, hop: number) => boolean) | undefined;
  return typeof trust === 'function' && trust(req.socket.remoteAddress ?? '', 0);
}

const invalidToken = (detail: string) => new AppError(401, 'invalid_token', 'The access token is invalid or has expired.', { detail });

export async function createIdp(deps: IdpDeps): Promise<Idp> {
  const { config, stores, directory, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const issuer = config.idp.issuer.replace(/\/+$/, '');
  const adapter = createAdapterClass(guardOutages(stores.kv), clock);
  const clients: ClientRegistry = await buildClients(config, stores.documents);
  const findAccount = createFindAccount(directory, { groupsPrefix: config.idp.groupsPrefix, entitlements: deps.entitlements });
  const limiters: LimiterFactory = deps.limiters ?? ((options) => createRateLimiter(stores, options));
  const throttle = await createLoginThrottle(limiters, config.idp.loginThrottle);
  const box = await loadSecretBox(stores.documents);
  const factors = new FactorStore({ documents: stores.documents, box, clock });
  const rp = relyingPartyOf(issuer);
  const secondFactorRequired =
    deps.secondFactorRequired ??
    (async (accountId: string) => {
      const account = await directory.getAccount(accountId);
      return Boolean(account?.platformAdmin) || (await directory.membershipsOf(accountId)).some((m) => m.manager);
    });

  let cookieKeys: string[] = [];
  let provider!: Provider;
  let callback!: ReturnType<Provider['callback']>;
  let jwks = createLocalJWKSet({ keys: [] });

  let lastReload = 0;
  const build = async () => {
    lastReload = clock.now();
    const [keys, cookies] = await Promise.all([loadSigningKeys(stores.documents, clock), loadCookieKeys(stores.documents, config.idp.cookieKeys)]);
    const next = new Provider(issuer, providerConfiguration({ config, clients, adapter, jwks: keys, cookieKeys: cookies, findAccount, logger }));
    if (config.server.trustedProxies.length > 0) next.proxy = true;
    next.on('server_error', (_ctx, error) => logger.error({ err: error }, 'oidc-provider server error'));
    next.on('backchannel.error', (_ctx, error, client) => logger.warn({ err: error, clientId: client.clientId }, 'back-channel logout delivery failed'));
    next.on('grant.revoked', (_ctx, grantId) => {
      grantsRevoked.inc();
      logger.info({ grantId }, 'grant revoked');
    });
    cookieKeys = cookies;
    jwks = createLocalJWKSet(publicJwks(keys) as Parameters<typeof createLocalJWKSet>[0]);
    provider = next;
    callback = next.callback();
  };
  await build();

  // A deleted account's factors go with it (the admin API announces every directory change on this
  // channel; a reset is idempotent, so every IdP process may do it).
  const unsubscribeDeletions = await stores.broadcast.subscribe('directory.changes', (message) => {
    const accountId = (() => {
      try {
        return (JSON.parse(message) as { accountId?: unknown }).accountId;
      } catch {
        return undefined;
      }
    })();
    if (typeof accountId !== 'string') return;
    void (async () => {
      const record = await factors.get(accountId);
      if (record && (record.totp || record.recoveryCodes || record.passkeys.length > 0) && !(await directory.getAccount(accountId))) await factors.reset(accountId);
    })().catch((error: unknown) => logger.warn({ err: error, accountId }, 'could not remove the second factors of a deleted account'));
  });

  const unsubscribe = await stores.broadcast.subscribe(KEYS_CHANNEL, () => {
    build().catch((error: unknown) => logger.error({ err: error }, 'could not reload IdP keys after a rotation'));
  });

  const handler = express.Router();
  const secondFactor = { factors, box, kv: stores.kv, rp, required: secondFactorRequired };
  handler.use(interactionRouter({ provider: () => provider, directory, throttle, cookieKeys: () => cookieKeys, clients, clock, logger, secondFactor }));
  handler.use(accountFactorsRouter({ provider: () => provider, directory, cookieKeys: () => cookieKeys, clock, logger, ...secondFactor }));
  handler.use((req: Request, res: Response, next: NextFunction) => {
    if (!isProviderPath(req.path)) return next();
    if (provider.proxy && !fromTrustedProxy(req)) {
      // koa believes X-Forwarded-* from anyone once `proxy` is on; only the configured proxies may set them.
      for (const name of FORWARDED_HEADERS) delete req.headers[name];
    }
    callback(req, res);
  });

  async function verifyAccessToken(token: string, audience: string): Promise<VerifiedAccessToken> {
    const verify = () => jwtVerify(token, jwks, { issuer, audience, typ: 'at+jwt', algorithms: ['RS256'], currentDate: new Date(clock.now()) });
    let result;
    try {
      result = await verify();
    } catch (error) {
      // A key made by a rotation in another process that this one has not heard of yet: reload once,
      // but not more often than every RELOAD_INTERVAL_MS (tokens with made-up kids must not make
      // every request rebuild the provider).
      if (!(error instanceof joseErrors.JWKSNoMatchingKey) || clock.now() - lastReload < RELOAD_INTERVAL_MS) {
        throw invalidToken(error instanceof Error ? error.message : String(error));
      }
      await build();
      try {
        result = await verify();
      } catch (again) {
        throw invalidToken(again instanceof Error ? again.message : String(again));
      }
    }
    const { payload } = result;
    if (typeof payload.sub !== 'string') throw invalidToken('token without sub');
    return {
      sub: payload.sub,
      amr: Array.isArray(payload.amr) ? payload.amr.filter((m): m is string => typeof m === 'string') : undefined,
      scope: typeof payload.scope === 'string' ? payload.scope : undefined,
      clientId: typeof payload.client_id === 'string' ? payload.client_id : undefined,
    };
  }

  return {
    handler,
    get provider() {
      return provider;
    },
    verifyAccessToken,
    reloadKeys: build,
    factors,
    async close() {
      // Closing must not fail because the broadcast backend is down; the subscription dies with it.
      await unsubscribe().catch((error: unknown) => logger.warn({ err: error }, 'could not unsubscribe from key rotations'));
      await unsubscribeDeletions().catch(() => undefined);
    },
  };
}
