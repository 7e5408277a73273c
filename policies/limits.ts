/**
 * The limits an identity has on a service.
 *
 * An account can hold several plans at once: the policy's default plan, its own subscriptions and
 * the plans of collectives that cover their members. It gets the MOST GENEROUS value of each limit
 * separately: `null` (unlimited) beats any number, otherwise the larger number wins; for rate
 * limits the larger allowance per second wins. Extra storage blocks are added on top of the
 * resulting storage (unless it is already unlimited). Plans therefore only ever add: buying
 * storage never takes away the meeting minutes of the free plan.
 */
import type { Identity, Limits, PolicyDocument, RateLimit } from './types.ts';

function generous(a: number | null, b: number | null): number | null {
  if (a === null || b === null) return null;
  return Math.max(a, b);
}

function generousRate(a: RateLimit | null, b: RateLimit | null): RateLimit | null {
  if (a === null || b === null) return null;
  return b.points / b.duration > a.points / a.duration ? b : a;
}

/** The plans that count for an identity: none when anonymous, else the default plan plus its own. */
export function plansOf(policy: PolicyDocument, identity: Identity): string[] {
  if (identity.subject === undefined) return [];
  // The common case, no subscription of its own: no arrays to merge.
  if (identity.plans.length === 0) return policy.plans[policy.defaultPlan] !== undefined ? [policy.defaultPlan] : [];
  const plans = [policy.defaultPlan, ...identity.plans.filter((p) => p !== policy.defaultPlan)];
  // A subscription to a plan that was since removed from the policy gives nothing.
  return [...new Set(plans)].filter((p) => policy.plans[p] !== undefined);
}

/** The policy-wide rate limit for a service (anonymous visitors, or plans that set none). */
export function serviceRateLimit(policy: PolicyDocument, serviceId: string): RateLimit | null {
  return policy.rateLimits.services[serviceId] ?? policy.rateLimits.default ?? null;
}

export function limitsFor(policy: PolicyDocument, identity: Identity, serviceId: string, plans = plansOf(policy, identity)): Limits {
  if (plans.length === 0) {
    return { plans, storage: 0, meetingMinutes: 0, hostedMinutesPerDay: 0, recordingStorage: 0, rateLimit: serviceRateLimit(policy, serviceId) };
  }
  let limits: Limits | undefined;
  for (const id of plans) {
    const plan = policy.plans[id];
    const rateLimit = plan.rateLimits[serviceId] ?? serviceRateLimit(policy, serviceId);
    limits = limits
      ? {
          plans,
          storage: generous(limits.storage, plan.storage),
          meetingMinutes: generous(limits.meetingMinutes, plan.meetingMinutes),
          hostedMinutesPerDay: generous(limits.hostedMinutesPerDay, plan.hostedMinutesPerDay),
          recordingStorage: generous(limits.recordingStorage, plan.recordingStorage),
          rateLimit: generousRate(limits.rateLimit, rateLimit),
        }
      : { plans, storage: plan.storage, meetingMinutes: plan.meetingMinutes, hostedMinutesPerDay: plan.hostedMinutesPerDay, recordingStorage: plan.recordingStorage, rateLimit };
  }
  const result = limits as Limits;
  const block = policy.extraStorageBlock;
  if (block && result.storage !== null && identity.extraStorageBlocks > 0) {
    result.storage += identity.extraStorageBlocks * block.bytes;
  }
  return result;
}
