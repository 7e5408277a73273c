/**
 * Step: read where the request is going and who sent it: host, normalised path (see
 * normalise-path.ts) and the client address (X-Forwarded-For only from trusted proxies).
 * In forward-auth mode the original request is described by X-Forwarded-* / X-Original-* headers.
 */
import type { GatewayContext } from '../context.ts';
import type { RequestScope } from '../scope.ts';
import { normaliseRequestPath } from './normalise-path.ts';
import { hostOf } from './match-route.ts';
import { peerAddress } from '../client-address.ts';

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

export function resolveRequest(ctx: GatewayContext) {
  return function resolveRequestStep(scope: RequestScope): void {
    const { req } = scope;
    const remote = req.socket.remoteAddress ?? '';
    scope.peerIp = peerAddress(remote);
    scope.fromTrustedProxy = ctx.clientAddress.isTrusted(remote);
    scope.clientIp = ctx.clientAddress.resolve(remote, req.headers['x-forwarded-for']);
    if (scope.mode === 'forward-auth') {
      const h = req.headers;
      scope.method = (first(h['x-forwarded-method']) ?? first(h['x-original-method']) ?? 'GET').toUpperCase();
      scope.host = hostOf(first(h['x-forwarded-host']) ?? h.host);
      normaliseRequestPath(scope, first(h['x-forwarded-uri']) ?? first(h['x-original-uri']) ?? '/');
      return;
    }
    scope.host = hostOf(req.headers.host);
    normaliseRequestPath(scope, req.url ?? '/');
  };
}
