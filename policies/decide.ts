/**
 * The access decision: ordered rules, the first that matches decides, no match = deny. Pure: no
 * I/O and no clock, so the gateway, the IdP and `porta policy explain` get the same answer.
 */
import type { CompiledPolicy, CompiledRule, MatchInput } from './compile.ts';
import { limitsFor, plansOf } from './limits.ts';
import type { Decision, Identity, Request, Service } from './types.ts';

function serviceLabel(service: Service): string {
  return service.name ?? service.id;
}

function matches(rule: CompiledRule, input: MatchInput): boolean {
  return rule.matchers.every((m) => m.test(input));
}

/**
 * What would let the person in: the allow rules before `before` (a deny rule that matched, or the
 * end) that target this request and whose subject conditions are not met, phrased as needs.
 */
function wouldAllow(policy: CompiledPolicy, input: MatchInput, before: number): string | undefined {
  const options: string[] = [];
  for (const rule of policy.rules.slice(0, before)) {
    if (rule.rule.effect !== 'allow') continue;
    if (!rule.matchers.every((m) => m.kind !== 'target' || m.test(input))) continue;
    const missing = rule.matchers.filter((m) => m.kind === 'subject' && !m.test(input)).map((m) => m.needs(input));
    // A rule whose condition nobody can obtain (becoming a platform admin) is no advice.
    if (missing.length === 0 || missing.includes(undefined)) continue;
    const option = missing.join(' and ');
    if (!options.includes(option)) options.push(option);
    if (options.length === 3) break;
  }
  if (options.length === 0) return undefined;
  return `Access needs ${options.join('; or ')}.`;
}

export function decide(policy: CompiledPolicy, identity: Identity, service: Service, request: Request): Decision {
  const plans = plansOf(policy.document, identity);
  const input: MatchInput = { identity, plans, service, request };
  const limits = limitsFor(policy.document, identity, service.id, plans);
  const label = serviceLabel(service);
  const index = policy.rules.findIndex((rule) => matches(rule, input));
  if (index === -1) {
    const who = identity.subject === undefined ? 'visitors who are not signed in' : 'this account';
    return {
      effect: 'deny',
      rule: 'default',
      reason: `No rule gives ${who} access to ${label}, so access is refused.`,
      limits,
      wouldAllow: wouldAllow(policy, input, policy.rules.length),
    };
  }
  const { rule, position } = policy.rules[index];
  if (rule.effect === 'allow') {
    const why = rule.description ? ` ${rule.description}` : '';
    return { effect: 'allow', rule: { id: rule.id, position }, reason: `Access to ${label} is allowed by rule "${rule.id}" (number ${position}).${why}`, limits };
  }
  return {
    effect: 'deny',
    rule: { id: rule.id, position },
    reason: rule.reason ?? `Access to ${label} is refused by rule "${rule.id}" (number ${position}).`,
    limits,
    wouldAllow: wouldAllow(policy, input, index),
  };
}
