/**
 * Step: may they? The policies decide (pure, first match wins, default deny) on the identity, the
 * service and the normalised request. Nobody signed in and refused: sign in. Signed in and refused:
 * 403 with the reason and what would give access.
 */
import type { GatewayContext } from '../context.ts';
import type { RequestScope } from '../scope.ts';
import { AccessDenied, SignInRequired } from '../refusals.ts';

export function decide<Identity>(ctx: GatewayContext<Identity>) {
  const fallback = { points: ctx.config.gateway.defaultRateLimit.points, duration: ctx.config.gateway.defaultRateLimit.durationSeconds };
  return function decideStep(scope: RequestScope<Identity>): void {
    const service = scope.service!;
    const decision = ctx.deps.decide(scope.identity as Identity, service, { method: scope.method, path: scope.path, host: scope.host });
    scope.decision = decision;
    if (decision.effect === 'allow') {
      // No rate limit named: the gateway's default. `null`: the policy says unlimited.
      const named = decision.limits?.rateLimit;
      scope.rateLimit = named === undefined ? fallback : (named ?? undefined);
      return;
    }
    if (!scope.principal) throw new SignInRequired(`Sign in to use ${service.name}.`);
    throw new AccessDenied(decision.reason, decision.wouldAllow);
  };
}
