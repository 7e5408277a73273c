/**
 * The gateway: the single sign-on reverse proxy in front of every service.
 *
 * `createGateway(deps)` returns a node `(req, res)` handler and an `upgrade` handler; the lead
 * mounts them on the gateway listener next to /healthz, /readyz and /metrics. The order of the
 * checks is in `pipeline.ts`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { systemClock } from '../kernel/clock.ts';
import { AppError } from '../kernel/errors.ts';
import type { GatewayDeps } from './types.ts';
import type { PortaConfig } from '../config/schema/index.ts';
import type { GatewayContext } from './context.ts';
import { newScope, type RequestScope } from './scope.ts';
import { createPipeline, runThen } from './pipeline.ts';
import { createRouteTable } from './steps/match-route.ts';
import { createClientAddressResolver } from './client-address.ts';
import { createIssuerClient } from './auth/issuer.ts';
import { createBearerVerifier } from './auth/bearer.ts';
import { createIdentityCache } from './auth/identity-cache.ts';
import { createSessionStore } from './session/session-store.ts';
import { createLoginFlow } from './session/login.ts';
import { createBackchannelLogout } from './session/backchannel.ts';
import { createPortaRoutes } from './session/routes.ts';
import { cookiePolicy } from './session/cookie.ts';
import { createSharedRateLimiter } from './rate-limiter.ts';
import { createUpstreams } from './upstreams.ts';
import { prepareUpstreamRequest } from './steps/prepare-upstream.ts';
import { createMeter } from './meter.ts';
import { createAnswer } from './answer.ts';
import { createForwardAuth } from './forward-auth.ts';
import { genericEnforcer, type Enforcers } from './steps/enforce.ts';

export type { GatewayDeps, GatewayDecision, GatewayUsageRecord, Claims, RequestFacts, RateLimit } from './types.ts';

export interface Gateway {
  handle(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void;
  close(): Promise<void>;
}

/** Options for the gateway's `http.createServer`: request-head size and time limits from config (431 / 408). */
export function gatewayServerOptions(config: PortaConfig['gateway']): { maxHeaderSize: number; headersTimeout: number; requestTimeout: number } {
  return { maxHeaderSize: config.maxHeaderBytes, headersTimeout: config.headersTimeoutMs, requestTimeout: 0 };
}

/** nginx's status for a request whose client went away before the answer (not sent to anyone). */
const CLIENT_CLOSED_REQUEST = 499;

const meteringDown = () => new AppError(503, 'metering_unavailable', 'Use of this service cannot be recorded right now; try again in a moment.');

export async function createGateway<Identity>(deps: GatewayDeps<Identity> & { enforcers?: Enforcers }): Promise<Gateway> {
  const { config, stores, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const gw = config.gateway;
  const publicUrl = new URL(gw.publicUrl);

  const issuer = createIssuerClient({
    issuer: config.idp.issuer,
    clientId: gw.clientId,
    clientSecret: async () => gw.clientSecret ?? (typeof deps.clientSecret === 'function' ? await deps.clientSecret() : deps.clientSecret),
  });
  const cookies = cookiePolicy(gw.publicUrl);
  const sessions = await createSessionStore({
    kv: stores.kv,
    broadcast: stores.broadcast,
    clock,
    logger,
    idleSeconds: gw.sessionIdleSeconds,
    maxSeconds: gw.sessionMaxSeconds,
    cacheSeconds: gw.sessionCacheSeconds,
  });
  const returnHosts = new Set([publicUrl.host.toLowerCase(), ...config.services.flatMap((s) => (s.host ? [s.host.toLowerCase()] : []))]);
  const ctx: GatewayContext<Identity> = {
    config,
    deps,
    clock,
    logger,
    routes: createRouteTable(config.services),
    clientAddress: createClientAddressResolver(config.server.trustedProxies),
    bearer: createBearerVerifier({ issuer, audience: gw.publicUrl, clock, cacheSize: gw.tokenCacheSize }),
    identities: createIdentityCache({ identityOf: deps.identityOf, clock, ttlSeconds: gw.identityCacheSeconds }),
    sessions,
    login: createLoginFlow({
      issuer,
      kv: stores.kv,
      sessions,
      cookies,
      clock,
      logger,
      publicUrl: gw.publicUrl,
      scope: gw.scope,
      sessionMaxSeconds: gw.sessionMaxSeconds,
      returnHosts,
    }),
    cookies,
    limiter: createSharedRateLimiter({ counters: stores.counters, clock, maxBlock: gw.rateLimitMaxBlock }),
  };
  const pipeline = createPipeline(ctx, { generic: genericEnforcer, ...deps.enforcers });
  const upstreams = createUpstreams(config.services, { maxSockets: gw.upstreamMaxSockets, logger });
  const meter = createMeter({ recordUsage: deps.recordUsage, collectiveOf: deps.collectiveOf, clock, logger });
  const answer = createAnswer(ctx as GatewayContext);
  const portaRoutes = createPortaRoutes(ctx as GatewayContext, {
    forwardAuth: createForwardAuth(ctx, pipeline, meter, answer),
    backchannelLogout: createBackchannelLogout({ issuer, sessions, clientId: gw.clientId, clock, logger }),
  });

  function countBytesIn(scope: ReturnType<typeof newScope>): void {
    const length = Number(scope.req.headers['content-length']);
    if (Number.isFinite(length)) scope.bytesIn = length;
    else if (scope.req.headers['transfer-encoding']) scope.req.on('data', (chunk: Buffer) => (scope.bytesIn += chunk.length));
  }

  const refuse = (scope: RequestScope<Identity>, error: unknown) => answer(scope as RequestScope, error);

  function forward(scope: RequestScope<Identity>): void {
    if (!meter.accepting()) throw meteringDown();
    prepareUpstreamRequest(scope, cookies);
    countBytesIn(scope);
    const res = scope.res!;
    res.on('close', () => {
      // A client that left before any answer: 499 as nginx logs it, not the 200 `statusCode` starts as.
      if (!scope.status) scope.status = res.headersSent ? res.statusCode : CLIENT_CLOSED_REQUEST;
      meter.record(scope);
    });
    upstreams.web(scope);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.url?.startsWith('/_porta/')) {
      void portaRoutes(req, res);
      return;
    }
    const scope = newScope<Identity>(req, 'proxy', clock.now());
    scope.res = res;
    runThen(pipeline, scope, forward, refuse);
  }

  /** Upgraded connections leave the http server's bookkeeping; close() ends them. */
  const openSockets = new Set<Socket>();

  function upgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    openSockets.add(socket);
    socket.once('close', () => openSockets.delete(socket));
    const scope = newScope<Identity>(req, 'websocket', clock.now());
    scope.socket = socket;
    scope.head = head;
    if (req.url?.startsWith('/_porta/')) {
      void answer(scope, new AppError(404, 'not_found', 'Not found.'));
      return;
    }
    runThen(pipeline, scope, forwardUpgrade, refuse);
  }

  function forwardUpgrade(scope: RequestScope<Identity>): void {
    if (!meter.accepting()) throw meteringDown();
    prepareUpstreamRequest(scope, cookies);
    const socket = scope.socket!;
    socket.once('close', () => {
      scope.status = 101;
      scope.bytesIn = socket.bytesRead;
      scope.bytesOut = socket.bytesWritten;
      meter.record(scope);
    });
    upstreams.ws(scope);
  }

  return {
    handle,
    upgrade,
    async close() {
      for (const socket of openSockets) socket.destroy();
      upstreams.close();
      await sessions.close();
    },
  };
}
