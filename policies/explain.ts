/**
 * "Why may (or may not) this account use that service, and with which limits?" — for the admin API
 * (`GET /policy/explain`) and `porta policy explain <account> <service>`. Gathers the facts (account,
 * memberships, subscriptions), then asks the same pure `decide` the gateway uses.
 */
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import { notFound } from '../kernel/errors.ts';
import type { Account, Directory } from '../directory/types.ts';
import type { CompiledPolicy } from './compile.ts';
import { decide } from './decide.ts';
import { identityOf } from './identity.ts';
import { formatSize, quotaClaim } from './sizes.ts';
import type { Entitlements } from './subscriptions.ts';
import type { Decision, Identity, Limits, Request, Service } from './types.ts';

export interface ExplainDeps {
  policy: () => CompiledPolicy;
  directory: Pick<Directory, 'getAccount' | 'findAccount' | 'membershipsOf'>;
  subscriptions: { entitlementsOf(accountId: string, memberships: Array<{ collectiveId: string }>, at?: number): Promise<Entitlements> };
  services: Service[];
  clock?: Clock;
}

export interface ExplainQuery {
  /** Account id, username or email. */
  account: string;
  service: string;
  method?: string;
  path?: string;
  /** Authentication methods to assume (default: a password login). */
  amr?: string[];
}

export interface Explanation {
  account: Pick<Account, 'id' | 'username' | 'status'>;
  service: Service;
  request: Request;
  identity: Identity;
  subscriptions: string[];
  decision: Decision;
  /** The `quota` claim Nextcloud receives. */
  quotaClaim: string;
  text: string;
}

export async function explainAccess(deps: ExplainDeps, query: ExplainQuery): Promise<Explanation> {
  const account = (await deps.directory.getAccount(query.account)) ?? (await deps.directory.findAccount(query.account));
  if (!account) throw notFound(`There is no account "${query.account}".`);
  const service = deps.services.find((s) => s.id === query.service);
  if (!service) throw notFound(`There is no service "${query.service}". Known services: ${deps.services.map((s) => s.id).join(', ') || 'none'}.`);
  const memberships = await deps.directory.membershipsOf(account.id);
  const entitlements = await deps.subscriptions.entitlementsOf(account.id, memberships, (deps.clock ?? systemClock).now());
  const identity = identityOf(account, memberships, entitlements, query.amr ?? ['pwd']);
  const request: Request = { method: (query.method ?? 'GET').toUpperCase(), path: query.path ?? '/' };
  let decision = decide(deps.policy(), identity, service, request);
  if (account.status !== 'active' && decision.effect === 'allow') {
    // The policy would allow it, but a suspended account cannot sign in at all.
    decision = { ...decision, effect: 'deny', reason: `The account is ${account.status}, so it cannot sign in. (Otherwise: ${decision.reason})` };
  }
  const explanation: Omit<Explanation, 'text'> = {
    account: { id: account.id, username: account.username, status: account.status },
    service,
    request,
    identity,
    subscriptions: entitlements.subscriptions,
    decision,
    quotaClaim: quotaClaim(decision.limits.storage),
  };
  return { ...explanation, text: formatExplanation(explanation) };
}

function size(bytes: number | null): string {
  return bytes === null ? 'unlimited' : formatSize(bytes);
}

function minutes(value: number | null, unit: string): string {
  return value === null ? 'unlimited' : `${value} ${unit}`;
}

export function formatLimits(limits: Limits): string[] {
  return [
    `  storage: ${size(limits.storage)}`,
    `  longest hosted meeting: ${limits.meetingMinutes === 0 ? 'may not host' : minutes(limits.meetingMinutes, 'minutes')}`,
    `  hosted minutes per day: ${minutes(limits.hostedMinutesPerDay, 'minutes')}`,
    `  recording storage: ${size(limits.recordingStorage)}`,
    `  rate limit: ${limits.rateLimit ? `${limits.rateLimit.points} requests per ${limits.rateLimit.duration} s` : 'none'}`,
  ];
}

/** Printable text, one fact per line. */
export function formatExplanation(e: Omit<Explanation, 'text'>): string {
  const { decision, identity } = e;
  const collectives = identity.collectives.map((c) => {
    const grants = identity.grants[c] ?? [];
    return grants.length ? `${c} (granted: ${grants.join(', ')})` : c;
  });
  const lines = [
    `Account:     ${e.account.username} (${e.account.id}), ${e.account.status}${identity.roles.length ? `; ${identity.roles.join(', ')}` : ''}`,
    `Plans:       ${decision.limits.plans.join(', ') || 'none'}${identity.extraStorageBlocks ? ` + ${identity.extraStorageBlocks} extra storage block(s)` : ''}`,
    `Collectives: ${collectives.join('; ') || 'none'}`,
    `Service:     ${e.service.name ?? e.service.id} (${e.service.id}), ${e.request.method} ${e.request.path}, login with ${identity.amr.join('+') || 'nothing'}`,
    `Decision:    ${decision.effect.toUpperCase()} by ${decision.rule === 'default' ? 'the default (no rule matched)' : `rule "${decision.rule.id}" (number ${decision.rule.position})`}`,
    `Why:         ${decision.reason}`,
  ];
  if (decision.wouldAllow) lines.push(`Would allow: ${decision.wouldAllow}`);
  lines.push('Limits (the most generous of each over the plans):', ...formatLimits(decision.limits), `  Nextcloud quota claim: "${e.quotaClaim}"`);
  return lines.join('\n');
}
