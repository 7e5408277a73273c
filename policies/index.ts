/**
 * policies/: plans, quotas, rate limits and access rules as versioned data, and the pure decision
 * over them. What the gateway, the IdP, the admin API and the CLI use.
 */
export type * from './types.ts';
export { compilePolicy, type CompiledPolicy } from './compile.ts';
export { decide } from './decide.ts';
export { limitsFor, plansOf } from './limits.ts';
export { quotaClaim, formatSize, parseSize } from './sizes.ts';
export { validatePolicy, problemFields, type PolicyProblem, type PolicyInput } from './schema.ts';
export { loadPolicyFile, readPolicyFile, InvalidPolicyError, DEFAULT_POLICY_FILE } from './load.ts';
export { anonymousIdentity, identityOf } from './identity.ts';
export { entitlementsOf, isActive, type Subscription, type Entitlements, type Holder } from './subscriptions.ts';
export { PolicyStore, POLICY_CHANNEL, AUDIT_STREAM, type ActivePolicy, type PolicyVersion } from './policy-store.ts';
export { SubscriptionStore, SUBSCRIPTION_CHANNEL, InvalidSubscriptionError } from './subscription-store.ts';
export { explainAccess, formatExplanation, type Explanation, type ExplainDeps } from './explain.ts';
export { policyRoutes, type PolicyRoutesDeps } from './admin-routes.ts';
export { validatePolicyFile, explain } from './cli.ts';
export { secondFactorRequired, DEFAULT_SECOND_FACTOR_POLICY } from './second-factor.ts';
