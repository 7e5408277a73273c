/**
 * Proxying to the upstreams (httpxy, the engine of http-proxy-middleware 4). One keep-alive agent
 * per upstream; bodies stream both ways; websockets through a second proxy without the agent (an
 * upgraded connection leaves the pool anyway). No first byte from the upstream within the
 * service's `timeoutMs` → 504; cannot connect or connection lost → 502; each with a small page or
 * JSON by Accept.
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { ProxyServer } from 'httpxy';
import type { Logger } from '../kernel/logger.ts';
import type { ServiceConfig } from './types.ts';
import type { RequestScope } from './scope.ts';
import { refusalFor, send, sendOnSocket } from './respond.ts';
import { upstreamTimeout, upstreamUnreachable } from './refusals.ts';
import { createDeadlines, type Deadlines } from './deadlines.ts';

export interface Upstreams {
  /** Forwards a request whose scope passed the pipeline; `req.url` and headers are already prepared. */
  web(scope: RequestScope): void;
  ws(scope: RequestScope): void;
  /** Proxied requests waiting for their upstream's first byte (each holds its request until then). */
  awaitingFirstByte(): number;
  close(): void;
}

/**
 * The scope of a proxied request rides on the request itself, under one symbol (the upstream
 * request and its deadline are on the scope: each property added to Node's request objects is one
 * more shape for Node's own code to meet). Not a WeakMap: V8's young-generation collector keeps
 * every WeakMap entry whose key is young alive until the next full collection, so a WeakMap keyed by
 * requests promoted ~9 KB per request to the old generation and made each minor GC take ~40 ms under
 * load (the gateway's p99 was 8× the bare proxy's; see docs/benchmarks.md).
 */
const SCOPE = Symbol('porta.scope');
type WithScope = http.IncomingMessage & { [SCOPE]?: RequestScope };
const scopeOf = (req: http.IncomingMessage): RequestScope | undefined => (req as WithScope)[SCOPE];
const attachScope = (scope: RequestScope): void => {
  (scope.req as WithScope)[SCOPE] = scope;
};

class UpstreamTimeout extends Error {
  readonly code = 'UPSTREAM_TIMEOUT';
}

interface Upstream {
  service: ServiceConfig;
  web: ProxyServer;
  ws: ProxyServer;
  agent: http.Agent;
  firstByte: Deadlines<RequestScope>;
}

export function createUpstreams(services: readonly ServiceConfig[], options: { maxSockets: number; logger: Logger }): Upstreams {
  const { logger } = options;
  const byService = new Map<string, Upstream>();

  for (const service of services) {
    const secure = service.upstream.startsWith('https:');
    const agent = secure
      ? new https.Agent({ keepAlive: true, maxSockets: options.maxSockets })
      : new http.Agent({ keepAlive: true, maxSockets: options.maxSockets });
    const common = { target: service.upstream, changeOrigin: !service.preserveHost, xfwd: false };
    const web = new ProxyServer({ ...common, agent });
    const ws = new ProxyServer({ ...common, ws: true, upgradeTimeout: service.timeoutMs });

    // Ended by the proxy's own response, error and client-gone events rather than by listeners on
    // every request.
    const firstByte = createDeadlines<RequestScope>({
      ms: service.timeoutMs,
      onExpired: (scope) => scope.upstreamRequest?.destroy(new UpstreamTimeout(`no answer within ${service.timeoutMs} ms`)),
    });
    web.on('proxyReq', (proxyReq, req) => {
      const scope = scopeOf(req);
      if (!scope) return;
      scope.upstreamRequest = proxyReq;
      scope.firstByte = firstByte.watch(scope);
    });
    const answered = (scope: RequestScope | undefined) => {
      if (scope?.firstByte) firstByte.done(scope.firstByte);
    };
    web.on('proxyRes', (proxyRes, req) => {
      const scope = scopeOf(req);
      answered(scope);
      if (!scope) return;
      const length = Number(proxyRes.headers['content-length']);
      if (Number.isFinite(length)) scope.bytesOut = length;
      else proxyRes.on('data', (chunk: Buffer) => (scope.bytesOut += chunk.length));
    });
    const onError = (error: Error, req?: http.IncomingMessage, res?: http.ServerResponse | Socket) => {
      const scope = req ? scopeOf(req) : undefined;
      answered(scope);
      const timedOut = error instanceof UpstreamTimeout;
      logger.warn({ service: service.id, err: { message: error.message, code: (error as NodeJS.ErrnoException).code } }, timedOut ? 'upstream timed out' : 'upstream failed');
      const refusal = refusalFor(timedOut ? upstreamTimeout(service.name) : upstreamUnreachable(service.name, error), req ?? ({ headers: {} } as http.IncomingMessage));
      if (scope) scope.status = refusal.status;
      if (!res) return;
      if (res instanceof http.ServerResponse) send(res, refusal);
      else sendOnSocket(res, refusal);
    };
    // The client went away before the answer (httpxy destroys the upstream request and emits this
    // instead of `error`): let go of the request now, not when its deadline would have fired.
    web.on('econnreset', (_error: Error, req: http.IncomingMessage) => answered(scopeOf(req)));
    web.on('error', onError);
    ws.on('error', onError);
    byService.set(service.id, { service, web, ws, agent, firstByte });
  }

  const upstreamOf = (scope: RequestScope): Upstream => {
    const upstream = byService.get(scope.service!.id);
    if (!upstream) throw new Error(`no upstream for service ${scope.service!.id}`);
    return upstream;
  };

  return {
    web(scope) {
      attachScope(scope);
      upstreamOf(scope).web.web(scope.req, scope.res!, scope.upstreamBody ? { buffer: scope.upstreamBody } : undefined).catch(() => undefined);
    },
    ws(scope) {
      attachScope(scope);
      upstreamOf(scope).ws.ws(scope.req, scope.socket!, {}, scope.head).catch(() => undefined);
    },
    awaitingFirstByte() {
      let waiting = 0;
      for (const upstream of byService.values()) waiting += upstream.firstByte.size;
      return waiting;
    },
    close() {
      for (const upstream of byService.values()) {
        upstream.firstByte.close();
        upstream.agent.destroy();
      }
    },
  };
}
