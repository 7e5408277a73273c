/**
 * The gateway pipeline, in order. Each step is a module with one job that reads and writes the
 * request's `RequestScope` and throws an AppError to refuse. Steps answer synchronously when they
 * can (cache hits) so the common case costs no extra turns of the event loop.
 *
 *   resolve request   host, client address (trusted proxies only), normalised path — the path
 *                     the route, the decision and the upstream all see
 *   match route       config.services: host, then longest path prefix
 *   strip headers     client-sent identity headers (oauth2-proxy / Authelia names, any case, `_`)
 *   authenticate      bearer JWT (verified, cached) or session cookie (cached, revocable)
 *   decide            policies: allow, or sign in (302 / 401), or 403 with the reason
 *   rate limit        per service and user (or address), shared through the store
 *   enforce           the service kind's enforcer (generic: nothing; webdav, bbb: later issue)
 *   identity headers  what the upstream (or forward-auth caller) is told about the user
 * then: proxy (upstreams.ts) and meter (meter.ts) for proxied requests; forward-auth answers 200.
 */
import type { GatewayContext } from './context.ts';
import type { RequestScope } from './scope.ts';
import { resolveRequest } from './steps/resolve-request.ts';
import { matchRoute } from './steps/match-route.ts';
import { stripHeadersStep } from './steps/strip-headers.ts';
import { authenticate } from './steps/authenticate.ts';
import { decide } from './steps/decide.ts';
import { rateLimit } from './steps/rate-limit.ts';
import { enforce, type Enforcers } from './steps/enforce.ts';
import { identityHeadersStep } from './steps/identity-headers.ts';

export type Step<Identity> = (scope: RequestScope<Identity>) => void | Promise<void>;

export interface Pipeline<Identity> {
  steps: ReadonlyArray<{ name: string; run: Step<Identity> }>;
  /**
   * Runs every step. Returns nothing when all passed without waiting (the common case: every cache
   * hit), a promise when a step had to wait; throws (or rejects with) the first refusal.
   */
  run(scope: RequestScope<Identity>): void | Promise<void>;
}

export function createPipeline<Identity>(ctx: GatewayContext<Identity>, enforcers: Enforcers): Pipeline<Identity> {
  const steps: Array<{ name: string; run: Step<Identity> }> = [
    { name: 'resolve request', run: resolveRequest(ctx as GatewayContext) },
    { name: 'match route', run: matchRoute(ctx.routes) },
    { name: 'strip headers', run: stripHeadersStep },
    { name: 'authenticate', run: authenticate(ctx) },
    { name: 'decide', run: decide(ctx) },
    { name: 'rate limit', run: rateLimit(ctx) },
    { name: 'enforce', run: enforce(enforcers) },
    { name: 'identity headers', run: identityHeadersStep },
  ];
  function runFrom(index: number, scope: RequestScope<Identity>): void | Promise<void> {
    for (let i = index; i < steps.length; i++) {
      const pending = steps[i].run(scope);
      if (pending) return pending.then(() => runFrom(i + 1, scope));
    }
  }
  return { steps, run: (scope) => runFrom(0, scope) };
}

/**
 * Runs the pipeline, then `pass` (synchronously when no step waited); a refusal, or an error thrown by
 * `pass`, goes to `refuse`. Both take the scope, so callers pass functions made once, not per request.
 */
export function runThen<Identity>(
  pipeline: Pipeline<Identity>,
  scope: RequestScope<Identity>,
  pass: (scope: RequestScope<Identity>) => void,
  refuse: (scope: RequestScope<Identity>, error: unknown) => unknown,
): void {
  let pending: void | Promise<void>;
  try {
    pending = pipeline.run(scope);
    if (!pending) pass(scope);
  } catch (error) {
    void refuse(scope, error);
    return;
  }
  if (pending) pending.then(() => pass(scope)).catch((error: unknown) => refuse(scope, error));
}
