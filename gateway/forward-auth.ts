/**
 * `GET /_porta/auth`: Porta's decision for a request some other proxy (nginx `auth_request`, Caddy
 * `forward_auth`, Traefik `ForwardAuth`) is about to serve. The original request is read from
 * `X-Forwarded-Method/-Host/-Uri` (Traefik, Caddy) or `X-Original-Method/-URI` (nginx) and goes
 * through the same pipeline as a proxied one; the answer is 200 with the identity headers to copy
 * upstream, or 401 / 403 / 429 (a browser behind Traefik or Caddy gets the 302 to sign in).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { GatewayContext } from './context.ts';
import type { Pipeline } from './pipeline.ts';
import type { Meter } from './meter.ts';
import { newScope } from './scope.ts';

export function createForwardAuth<Identity>(
  ctx: GatewayContext<Identity>,
  pipeline: Pipeline<Identity>,
  meter: Meter,
  answer: (scope: ReturnType<typeof newScope>, error: unknown) => Promise<void>,
) {
  return async function forwardAuth(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const scope = newScope<Identity>(req, 'forward-auth', ctx.clock.now());
    scope.res = res;
    try {
      await pipeline.run(scope);
    } catch (error) {
      await answer(scope as ReturnType<typeof newScope>, error);
      return;
    }
    scope.status = 200;
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'content-length': '0', 'x-porta-service': scope.service!.id };
    Object.assign(headers, scope.identityHeaders);
    if (scope.service!.passAccessToken && scope.principal?.accessToken) headers.authorization = `Bearer ${scope.principal.accessToken}`;
    res.writeHead(200, headers);
    res.end();
    meter.record(scope);
  };
}
