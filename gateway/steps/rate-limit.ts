/**
 * Step: rate limit per service and per user (per client address when anonymous), shared by every
 * gateway process through the store (see `rate-limiter.ts` for how it avoids a round trip per
 * request). Over the limit: 429 with Retry-After. Store down: 503, never unlimited.
 */
import { AppError } from '../../kernel/errors.ts';
import type { GatewayContext } from '../context.ts';
import type { RequestScope } from '../scope.ts';
import { RateLimited } from '../refusals.ts';
import type { RateLimitResult } from '../rate-limiter.ts';

export function rateLimit<Identity>(ctx: GatewayContext<Identity>) {
  const check = (result: RateLimitResult) => {
    if (!result.allowed) throw new RateLimited(result.retryAfterSeconds);
  };
  return function rateLimitStep(scope: RequestScope<Identity>): void | Promise<void> {
    const limit = scope.rateLimit;
    if (!limit) return;
    const who = scope.principal ? `u:${scope.principal.subject}` : `ip:${scope.clientIp}`;
    let result: ReturnType<typeof ctx.limiter.consume>;
    try {
      result = ctx.limiter.consume(`${scope.service!.id}:${who}`, limit);
    } catch (error) {
      throw unavailable(error);
    }
    if (result instanceof Promise) return result.then(check, (error: unknown) => { throw unavailable(error); });
    check(result);
  };
}

const unavailable = (cause: unknown) =>
  cause instanceof AppError && cause.status === 429 ? cause : new AppError(503, 'store_unavailable', 'Rate limits cannot be checked right now; try again in a moment.', { cause });
