/**
 * What the composition root starts for Oficina (`webdav` services), beyond the quota enforcer:
 * - device passwords for sync clients (`deviceLoginFor`, used by the gateway's authenticate step);
 * - for services with OCS admin credentials (`ocsUser`/`ocsPassword`, or PORTA_OCS_<ID>_USER and
 *   _PASSWORD): plan changes pushed to Nextcloud's quota (quota-push.ts) and the daily storage
 *   sample into metering (daily-sample.ts).
 */
import type { ServiceConfig } from '../../types.ts';
import type { Claims } from '../../types.ts';
import type { Stores } from '../../../store/types.ts';
import type { Clock } from '../../../kernel/clock.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { Directory } from '../../../directory/types.ts';
import { profileClaims } from '../../../directory/profile-claims.ts';
import type { UsageInput } from '../../../metering/types.ts';
import type { PolicyDocument, Subscription } from '../../../policies/index.ts';
import { entitlementsOf, identityOf, limitsFor, anonymousIdentity } from '../../../policies/index.ts';
import { DevicePasswords } from './device-passwords.ts';
import { DeviceLogin } from './device-login.ts';
import { NextcloudOcs } from './nextcloud-ocs.ts';
import { createQuotaPush, type SubscriptionFacts } from './quota-push.ts';
import { scheduleDailySample } from './daily-sample.ts';

type Env = Record<string, string | undefined>;

/** A `webdav` service's OCS client, from its configuration or PORTA_OCS_<ID>_USER / _PASSWORD; undefined without both. */
export function ocsOf(service: ServiceConfig, env: Env): NextcloudOcs | undefined {
  if (service.kind !== 'webdav') return undefined;
  const variable = `PORTA_OCS_${service.id.toUpperCase().replace(/-/g, '_')}`;
  const adminUser = service.ocsUser ?? env[`${variable}_USER`];
  const adminPassword = service.ocsPassword ?? env[`${variable}_PASSWORD`];
  return adminUser && adminPassword ? new NextcloudOcs({ url: service.upstream, adminUser, adminPassword }) : undefined;
}

/** The claims of an active account as the IdP releases them (idp/provider/claims.ts), for identity headers. */
export function directoryClaims(directory: Pick<Directory, 'getAccount' | 'membershipsOf'>, groupsPrefix: string) {
  return async (subject: string): Promise<Claims | undefined> => {
    const account = await directory.getAccount(subject);
    if (!account || account.status !== 'active') return undefined;
    return profileClaims(account, await directory.membershipsOf(subject), groupsPrefix);
  };
}

export function deviceLoginFor(options: { stores: Pick<Stores, 'documents' | 'counters'>; directory: Pick<Directory, 'getAccount' | 'membershipsOf'>; groupsPrefix: string; clock: Clock }): DeviceLogin {
  return new DeviceLogin({
    passwords: new DevicePasswords({ documents: options.stores.documents, clock: options.clock }),
    claimsOf: directoryClaims(options.directory, options.groupsPrefix),
    counters: options.stores.counters,
    clock: options.clock,
  });
}

export interface OficinaJobsOptions {
  services: readonly ServiceConfig[];
  env: Env;
  stores: Pick<Stores, 'kv' | 'broadcast'>;
  directory: Pick<Directory, 'getAccount' | 'membershipsOf' | 'listMembers' | 'searchAccounts'>;
  policy(): PolicyDocument;
  subscriptions: {
    list(): Promise<Subscription[]>;
    get(id: string): Promise<Subscription | undefined>;
    history(id: string): Promise<Array<{ state: Subscription | null }>>;
  };
  channel: string;
  recordUsage(usage: UsageInput): boolean;
  clock: Clock;
  logger: Logger;
}

async function allPages<T>(read: (cursor: string | undefined) => Promise<{ items: T[]; next?: string }>): Promise<T[]> {
  const out: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await read(cursor);
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

/** The account's storage on a service now, from the subscriptions as stored (not a cache). */
export function freshStorageOf(options: Pick<OficinaJobsOptions, 'directory' | 'policy' | 'subscriptions' | 'clock'>) {
  return async (accountId: string, serviceId: string): Promise<number | null> => {
    const policy = options.policy();
    const account = await options.directory.getAccount(accountId);
    if (!account || account.status !== 'active') return limitsFor(policy, anonymousIdentity(), serviceId).storage;
    const memberships = await options.directory.membershipsOf(accountId);
    const entitlements = entitlementsOf(accountId, memberships, await options.subscriptions.list(), options.clock.now());
    return limitsFor(policy, identityOf(account, memberships, entitlements), serviceId).storage;
  };
}

/** Starts the quota push and the daily sample for the services with OCS credentials; returns the stop function. */
export async function startOficinaJobs(options: OficinaJobsOptions): Promise<() => Promise<void>> {
  const services = options.services.flatMap((s) => {
    const ocs = ocsOf(s, options.env);
    return ocs ? [{ id: s.id, ocs }] : [];
  });
  if (services.length === 0) return async () => undefined;
  const { directory, logger } = options;
  const push = createQuotaPush({
    services,
    broadcast: options.stores.broadcast,
    kv: options.stores.kv,
    channel: options.channel,
    async subscription(id) {
      const history = await options.subscriptions.history(id);
      const current = await options.subscriptions.get(id);
      const last = current ?? [...history].reverse().find((v) => v.state)?.state ?? undefined;
      return { state: last as SubscriptionFacts | undefined, version: history.length };
    },
    membersOf: async (collectiveId) => (await allPages((cursor) => directory.listMembers(collectiveId, { limit: 500, cursor }))).map((m) => m.id),
    storageOf: freshStorageOf(options),
    logger,
  });
  const unsubscribe = await push.start();
  const stopSample = scheduleDailySample({
    services: services.map((s) => ({ id: s.id, usedBytes: (uid: string) => s.ocs.usedBytes(uid) })),
    kv: options.stores.kv,
    accounts: async () =>
      (await allPages((cursor) => directory.searchAccounts({ limit: 500, cursor }))).filter((a) => a.status === 'active').map((a) => ({ subject: a.id })),
    recordUsage: options.recordUsage,
    clock: options.clock,
    logger,
  });
  return async () => {
    stopSample();
    await unsubscribe();
  };
}
