/**
 * Subscriptions kept in the DocumentStore, one document each, changed with compare-and-set and
 * audited like the policy. A change is announced on the `subscriptions` channel so that caches of
 * entitlements (gateway, IdP) can drop what they hold for the holder.
 */
import { AppError, conflict, notFound } from '../kernel/errors.ts';
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import { newId } from '../kernel/ids.ts';
import type { Stores } from '../store/types.ts';
import type { PolicyDocument } from './types.ts';
import { AUDIT_STREAM } from './policy-store.ts';
import { entitlementsOf, subscriptionInputSchema, type Entitlements, type Subscription } from './subscriptions.ts';

export const SUBSCRIPTION_COLLECTION = 'subscriptions';
export const SUBSCRIPTION_HISTORY_COLLECTION = 'subscription-history';
export const SUBSCRIPTION_CHANNEL = 'subscriptions';

/** One state of a subscription in its history; `state` null = deleted. */
export interface SubscriptionVersion {
  subscriptionId: string;
  version: number;
  state: Subscription | null;
  who: string;
  when: number;
  action: 'create' | 'update' | 'delete' | 'revert';
  revertedTo?: number;
}

function historyId(id: string, version: number): string {
  // Zero-padded so that the store lists versions in order.
  return `${id}/${String(version).padStart(8, '0')}`;
}

/** A subscription that does not validate; `fields` name each bad field. */
export class InvalidSubscriptionError extends AppError {
  constructor(fields: Record<string, string>) {
    super(400, 'invalid_subscription', `The subscription is not valid: ${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('; ')}`, { fields });
    this.name = 'InvalidSubscriptionError';
  }
}

export interface SubscriptionStoreOptions {
  stores: Pick<Stores, 'documents' | 'broadcast' | 'ledger'>;
  /** The policy in force, to check that the plan exists and may be held by that kind of holder. */
  policy: () => PolicyDocument;
  clock?: Clock;
  /**
   * Keep the list in memory this long (ms) for `entitlementsOf` on the hot path; 0 = no cache.
   * Changes through any process drop the cache at once once `watch()` subscribed to them.
   */
  cacheMs?: number;
}

export class SubscriptionStore {
  private readonly stores: SubscriptionStoreOptions['stores'];
  private readonly policy: () => PolicyDocument;
  private readonly clock: Clock;
  private readonly cacheMs: number;
  private cache?: { at: number; items: Subscription[] };
  private unsubscribe?: () => Promise<void>;

  constructor(options: SubscriptionStoreOptions) {
    this.stores = options.stores;
    this.policy = options.policy;
    this.clock = options.clock ?? systemClock;
    this.cacheMs = options.cacheMs ?? 0;
  }

  /** Drops the cache whenever any process announces a subscription change. */
  async watch(): Promise<void> {
    this.unsubscribe ??= await this.stores.broadcast.subscribe(SUBSCRIPTION_CHANNEL, () => {
      this.cache = undefined;
    });
  }

  async close(): Promise<void> {
    await this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  private async cached(): Promise<Subscription[]> {
    const now = this.clock.now();
    if (this.cacheMs > 0 && this.cache && now - this.cache.at < this.cacheMs) return this.cache.items;
    const items = await this.list();
    if (this.cacheMs > 0) this.cache = { at: now, items };
    return items;
  }

  private check(input: unknown): Omit<Subscription, 'id'> {
    const result = subscriptionInputSchema.safeParse(input);
    if (!result.success) {
      const fields: Record<string, string> = {};
      for (const issue of result.error.issues) {
        const path = issue.code === 'unrecognized_keys' ? issue.keys.map((k) => [...issue.path, k].join('.')).join(', ') : issue.path.join('.') || '(body)';
        fields[path] = issue.code === 'unrecognized_keys' ? 'unknown key' : issue.message;
      }
      throw new InvalidSubscriptionError(fields);
    }
    const subscription = result.data;
    const plan = this.policy().plans[subscription.plan];
    if (!plan) throw new InvalidSubscriptionError({ plan: `unknown plan "${subscription.plan}"` });
    const kind = 'account' in subscription.holder ? 'account' : 'collective';
    if (!plan.holders.includes(kind)) throw new InvalidSubscriptionError({ holder: `plan "${subscription.plan}" cannot be held by ${kind === 'account' ? 'an account' : 'a collective'}` });
    return subscription;
  }

  /**
   * After a change was written: its history entry, then the audit event (the directory's shape,
   * directory/audit.ts, same stream). The change is in force even if these fail, and the admin is
   * told so rather than shown a plain error.
   */
  private async record(who: string, action: SubscriptionVersion['action'], id: string, before: Subscription | null, after: Subscription | null, revertedTo?: number): Promise<void> {
    this.cache = undefined;
    try {
      const previous = await this.stores.documents.list<SubscriptionVersion>(SUBSCRIPTION_HISTORY_COLLECTION, { prefix: `${id}/` });
      const entry: SubscriptionVersion = { subscriptionId: id, version: previous.length + 1, state: after, who, when: this.clock.now(), action, ...(revertedTo ? { revertedTo } : {}) };
      await this.stores.documents.write([{ collection: SUBSCRIPTION_HISTORY_COLLECTION, id: historyId(id, entry.version), doc: entry }]);
      await this.stores.ledger.append(AUDIT_STREAM, [
        { id: newId(), time: entry.when, data: { actor: who, action: `subscription.${action}`, target: { type: 'subscription', id }, ...(before ? { before } : {}), ...(after ? { after } : {}) } },
      ]);
    } catch (cause) {
      throw new AppError(503, 'audit_unavailable', `The subscription change (${action}) was made, but its history or audit record could not be written; check the store.`, { cause });
    } finally {
      // Only caches listen; they also expire on their own.
      await this.stores.broadcast.publish(SUBSCRIPTION_CHANNEL, JSON.stringify({ id })).catch(() => undefined);
    }
  }

  async list(): Promise<Subscription[]> {
    const rows = await this.stores.documents.list<Subscription>(SUBSCRIPTION_COLLECTION);
    return rows.map((r) => r.doc);
  }

  async get(id: string): Promise<Subscription | undefined> {
    return this.stores.documents.get<Subscription>(SUBSCRIPTION_COLLECTION, id);
  }

  /** Writes `next` (or deletes when null) with compare-and-set against what was read. */
  private async put(id: string, next: Subscription | null): Promise<Subscription | null> {
    const { documents } = this.stores;
    const version = await documents.version(SUBSCRIPTION_COLLECTION, id);
    const before = version === 0 ? null : ((await documents.get<Subscription>(SUBSCRIPTION_COLLECTION, id)) ?? null);
    if (next === null) {
      if (before) await documents.write([{ collection: SUBSCRIPTION_COLLECTION, id, doc: undefined }]);
      return before;
    }
    const written = await documents.writeVersioned(SUBSCRIPTION_COLLECTION, id, next, version);
    if (written === undefined) throw conflict('Someone else changed this subscription at the same moment; reload it and try again.');
    return before;
  }

  async create(input: unknown, who: string): Promise<Subscription> {
    const subscription: Subscription = { id: newId(), ...this.check(input) };
    const written = await this.stores.documents.writeVersioned(SUBSCRIPTION_COLLECTION, subscription.id, subscription, 0);
    if (written === undefined) throw conflict('A subscription with this id already exists.');
    await this.record(who, 'create', subscription.id, null, subscription);
    return subscription;
  }

  /** Replaces a subscription (all fields but the id). */
  async update(id: string, input: unknown, who: string): Promise<Subscription> {
    if (!(await this.get(id))) throw notFound(`There is no subscription ${id}.`);
    const after: Subscription = { id, ...this.check(input) };
    const before = await this.put(id, after);
    if (!before) throw notFound(`There is no subscription ${id}.`);
    await this.record(who, 'update', id, before, after);
    return after;
  }

  async delete(id: string, who: string): Promise<void> {
    const before = await this.put(id, null);
    if (!before) throw notFound(`There is no subscription ${id}.`);
    await this.record(who, 'delete', id, before, null);
  }

  /** Every state the subscription had, oldest first (also after it was deleted). */
  async history(id: string): Promise<SubscriptionVersion[]> {
    const rows = await this.stores.documents.list<SubscriptionVersion>(SUBSCRIPTION_HISTORY_COLLECTION, { prefix: `${id}/` });
    return rows.map((r) => r.doc);
  }

  /**
   * Puts the subscription back exactly as it was at `version` (deleting it if it was deleted then),
   * as a new version. The state is checked against today's policy: a plan removed since is refused.
   */
  async revert(id: string, version: number, who: string): Promise<Subscription | null> {
    const target = (await this.stores.documents.get<SubscriptionVersion>(SUBSCRIPTION_HISTORY_COLLECTION, historyId(id, version))) ?? undefined;
    if (!target) throw notFound(`Subscription ${id} has no version ${version}.`);
    let state: Subscription | null = null;
    if (target.state) {
      const { id: _id, ...input } = target.state;
      state = { id, ...this.check(input) };
    }
    const before = await this.put(id, state);
    await this.record(who, 'revert', id, before, state, version);
    return state;
  }

  /** Entitlements of an account now (or at `at`); served from the cache when one is configured. */
  async entitlementsOf(accountId: string, memberships: Array<{ collectiveId: string }>, at: number = this.clock.now()): Promise<Entitlements> {
    return entitlementsOf(accountId, memberships, await this.cached(), at);
  }
}
