/**
 * Whether an identity must sign in with a second factor: by role, by plan or by collective, as the
 * policy's `secondFactor` section says. Pure, like the rest of policies/.
 */
import type { Identity, PolicyDocument, SecondFactorPolicy } from './types.ts';

export const DEFAULT_SECOND_FACTOR_POLICY: SecondFactorPolicy = { requiredForRoles: ['platform-admin', 'manager'], requiredForPlans: [], requiredForCollectives: [] };

export function secondFactorRequired(identity: Identity, policy: Pick<PolicyDocument, 'secondFactor'>): boolean {
  if (!identity.subject) return false;
  const rules = policy.secondFactor ?? DEFAULT_SECOND_FACTOR_POLICY;
  return (
    identity.roles.some((role) => rules.requiredForRoles.includes(role)) ||
    identity.plans.some((plan) => rules.requiredForPlans.includes(plan)) ||
    identity.collectives.some((collective) => rules.requiredForCollectives.includes(collective))
  );
}
