import express from 'express';
import type { Socket } from 'node:net';
import type { PortaConfig } from '../config/schema/index.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Clock } from '../kernel/clock.ts';
import { withOperations, type ReadinessCheck } from '../kernel/ops.ts';
import { createIdp, gatewayClientSecret, type Idp } from '../idp/index.ts';
import { accountPagesRouter } from '../idp/account/index.ts';
import { createRateLimiter } from '../store/index.ts';
import { createAdminApi } from '../admin-ui/api/index.ts';
import { adminUiRouter } from '../admin-ui/serve.ts';
import { selfServiceRoutes } from '../admin-ui/api/self-service-routes.ts';
import { buildClients } from '../idp/provider/clients.ts';
import { createSessionListing, type SessionListing } from '../gateway/session/listing.ts';
import { policyRoutes } from '../policies/index.ts';
import { usageRoutes } from '../metering/index.ts';
import { createGateway, type Gateway } from '../gateway/index.ts';
import { decide, limitsFor, secondFactorRequired, type Identity } from '../policies/index.ts';
import { factorRoutes } from '../admin-ui/api/factors-routes.ts';
import { createServiceEnforcers } from '../gateway/enforcers/index.ts';
import { deviceLoginFor, startOficinaJobs } from '../gateway/enforcers/webdav/oficina-jobs.ts';
import { DevicePasswords } from '../gateway/enforcers/webdav/device-passwords.ts';
import { deviceRoutes } from '../admin-ui/api/device-routes.ts';
import { SUBSCRIPTION_CHANNEL } from '../policies/index.ts';
import type { ServiceConfig } from '../config/schema/index.ts';
import { assemblePlatform, type Platform } from './assemble.ts';
import { startListener, type Listener } from './listener.ts';

export type Role = 'all' | 'idp' | 'gateway';

export interface RunningPorta {
  platform: Platform;
  listeners: Listener[];
  idp?: Idp;
  gateway?: Gateway;
  /** Graceful stop: stop accepting, finish in-flight requests, flush the usage ledger, close stores. */
  stop(): Promise<void>;
}

/** The composition root: builds the shared platform, then the parts a role needs, and starts its listeners. */
export async function startPorta(config: PortaConfig, role: Role, logger: Logger, options: { clock?: Clock } = {}): Promise<RunningPorta> {
  const platform = await assemblePlatform(config, logger, options.clock);
  const { stores, directory } = platform;
  const checks: ReadinessCheck[] = [
    { name: 'store', check: () => stores.ping() },
    { name: 'directory', check: () => directory.ping() },
  ];
  const listeners: Listener[] = [];
  const closers: Array<() => Promise<void>> = [];
  let idp: Idp | undefined;
  let gateway: Gateway | undefined;

  try {
    if (role === 'all' || role === 'idp') {
      idp = await createIdp({ config, stores, directory, entitlements: (id) => platform.entitlements(id), logger, clock: platform.clock, secondFactorRequired: async (id) => secondFactorRequired(await platform.identityOf(id), platform.policies.current().document) });
      const running = idp;
      closers.push(() => running.close());
      const g = config.gateway;
      const sessions = createSessionListing({ kv: stores.kv, broadcast: stores.broadcast, clock: platform.clock, logger, idleSeconds: g.sessionIdleSeconds, maxSeconds: g.sessionMaxSeconds });
      closers.push(() => sessions.close());
      listeners.push(
        await startListener({
          name: 'idp',
          host: config.server.host,
          port: config.server.idpPort,
          logger,
          handler: withOperations('idp', checks, logger, idpApp(platform, running, sessions)),
        }),
      );
    }
    if (role === 'all' || role === 'gateway') {
      const limits = createServiceEnforcers({
        services: config.services,
        stores,
        clock: platform.clock,
        logger,
        limitsOf: async (subject, service) => {
          const policy = platform.policies.current().document;
          const found = limitsFor(policy, await platform.identityOf(subject), service.id);
          return { ...found, plan: planName(policy.plans, found.plans) };
        },
        planName: (ids) => planName(platform.policies.current().document.plans, ids),
        bbbSecrets: (service) => bbbSecrets(service),
        recordUsage: (usage) => platform.metering.recorder.record(usage),
        moreSpaceUrl: `${config.idp.issuer.replace(/\/+$/, '')}/admin/`,
        greenlightServices: config.services.filter((s) => s.greenlight).map((s) => s.id),
      });
      const sweeper = setInterval(() => {
        limits.sweep().catch((error: unknown) => logger.error({ err: error }, 'meeting sweep failed; it runs again in a minute'));
      }, 60_000);
      sweeper.unref();
      closers.push(async () => clearInterval(sweeper));
      // Oficina: plan changes pushed to Nextcloud over OCS, daily storage sample (services with OCS credentials).
      closers.push(await startOficinaJobs({ services: config.services, env: process.env, stores, directory, policy: () => platform.policies.current().document, subscriptions: platform.subscriptions, channel: SUBSCRIPTION_CHANNEL, recordUsage: (usage) => platform.metering.recorder.record(usage), clock: platform.clock, logger }));
      gateway = await createGateway<Identity>({
        config,
        stores,
        logger,
        clock: platform.clock,
        decide: (identity, service, request) => decide(platform.policies.current().compiled, identity, service, request),
        identityOf: (claims) => platform.identityOf(claims?.sub, Array.isArray(claims?.amr) ? (claims.amr as string[]) : []),
        collectiveOf: (identity, service) => Object.entries(identity.grants).find(([, services]) => services.includes(service.id))?.[0],
        recordUsage: (record) => platform.metering.recorder.tally(record),
        clientSecret: () => gatewayClientSecret(config, stores.documents),
        enforcers: limits.enforcers,
        deviceLogin: deviceLoginFor({ stores, directory, groupsPrefix: config.idp.groupsPrefix, clock: platform.clock }),
      });
      const running = gateway;
      closers.push(() => running.close());
      listeners.push(
        await startListener({
          name: 'gateway',
          host: config.server.host,
          port: config.server.gatewayPort,
          logger,
          maxHeaderSize: config.gateway.maxHeaderBytes,
          headersTimeoutMs: config.gateway.headersTimeoutMs,
          handler: withOperations('gateway', checks, logger, running.handle),
          // An http server's upgrade socket is always a net.Socket.
          upgrade: (req, socket, head) => running.upgrade(req, socket as Socket, head),
        }),
      );
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close(0)));
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await platform.close();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    platform,
    listeners,
    idp,
    gateway,
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all(listeners.map((l) => l.close(config.server.shutdownTimeoutMs)));
        for (const close of closers.reverse()) await close().catch((error: unknown) => logger.error({ err: error }, 'error while closing'));
        await platform.close();
      })()),
  };
}

/** The name people know a set of plans by: the paid one when there is one. */
function planName(plans: Record<string, { name?: string }>, ids: string[]): string {
  const id = ids.find((p) => p !== 'free') ?? ids[0] ?? 'free';
  return plans[id]?.name ?? id;
}

/** A `bbb` service's two secrets, from its configuration or PORTA_BBB_<ID>_SECRET / _FRONT_SECRET. */
function bbbSecrets(service: ServiceConfig): { front: string; bbb: string } | undefined {
  const variable = `PORTA_BBB_${service.id.toUpperCase().replace(/-/g, '_')}`;
  const bbb = service.bbbSecret ?? process.env[`${variable}_SECRET`];
  const front = service.frontSecret ?? process.env[`${variable}_FRONT_SECRET`];
  return bbb && front ? { bbb, front } : undefined;
}

/** The IdP listener: login pages and OIDC endpoints, the admin API at /api/v1 and the admin UI at /admin. */
function idpApp(platform: Platform, idp: Idp, sessions: SessionListing): express.Express {
  const { config, directory, accounts, stores, logger } = platform;
  const app = express();
  app.disable('x-powered-by');
  if (config.server.trustedProxies.length > 0) app.set('trust proxy', config.server.trustedProxies);
  const policy = policyRoutes({ policies: platform.policies, subscriptions: platform.subscriptions, directory, services: config.services, clock: platform.clock, logger });
  const usage = usageRoutes({ reporting: platform.metering.reporting, clock: platform.clock, logger });
  const self = selfServiceRoutes({
    directory,
    flows: accounts.flows,
    audit: accounts.audit,
    services: config.services,
    clients: () => buildClients(config, stores.documents),
    policy: () => platform.policies.current().document,
    identityOf: (accountId) => platform.identityOf(accountId),
    usage: platform.metering.reporting,
    subscriptions: platform.subscriptions,
    sessions,
    clock: platform.clock,
    logger,
  });
  app.use(
    '/api/v1',
    createAdminApi({
      directory,
      flows: accounts.flows,
      audit: accounts.audit,
      outbox: accounts.outbox,
      broadcast: stores.broadcast,
      // A deleted account's usage is kept only under its anonymous id.
      onAccountDeleted: async ({ accountId, anonymousId }) => {
        await platform.metering.anonymiseSubject(accountId, anonymousId);
      },
      verifyAccessToken: (token) => idp.verifyAccessToken(token, config.idp.adminAudience),
      extraRouters: [
        { path: '/', router: policy.router, openapi: policy.openapi },
        { path: '/', router: usage.router, openapi: usage.openapi },
        { path: '/', ...factorRoutes({ factors: idp.factors, directory, audit: accounts.audit, broadcast: stores.broadcast, enrolUrl: '/account/factors' }) },
        { path: '/', router: self.router, openapi: self.openapi },
        { path: '/', ...deviceRoutes({ passwords: new DevicePasswords({ documents: stores.documents, clock: platform.clock }), audit: accounts.audit }) },
      ],
      logger,
    }),
  );
  app.use(adminUiRouter());
  app.use(accountPagesRouter({ flows: accounts.flows, directory, issuer: config.idp.issuer, logger, clock: platform.clock, limiters: (options) => createRateLimiter(stores, options), loginThrottle: config.idp.loginThrottle }));
  app.use(idp.handler);
  app.use((_req, res) => {
    res.status(404).type('text/plain').send('Not found.\n');
  });
  return app;
}
