/**
 * The versioned policy: the current document and its full history in the DocumentStore, and in
 * every process a compiled copy in memory that `decide` reads without any I/O.
 *
 * A change is validated first (an invalid document is refused and nothing changes), written with
 * compare-and-set on the store's version counter (so the policy version IS that counter and two
 * admins cannot overwrite each other unknowingly), recorded in the history with who, when and a
 * diff, audited, and announced on the `policy` broadcast channel. Every process reloads when it
 * hears of a newer version (older or equal ones are ignored) and also polls the version every few
 * seconds in case a message was lost.
 */
import { AppError, conflict, notFound } from '../kernel/errors.ts';
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import { newId } from '../kernel/ids.ts';
import type { Logger } from '../kernel/logger.ts';
import { silentLogger } from '../kernel/logger.ts';
import type { Stores } from '../store/types.ts';
import { compilePolicy, type CompiledPolicy } from './compile.ts';
import { diff, type Change } from './diff.ts';
import { DEFAULT_POLICY_FILE, InvalidPolicyError, readPolicyFile } from './load.ts';
import { referencedServices, validatePolicy, type PolicyValidationOptions } from './schema.ts';
import type { PolicyDocument } from './types.ts';

export const POLICY_COLLECTION = 'policy';
export const POLICY_HISTORY_COLLECTION = 'policy-history';
export const POLICY_CHANNEL = 'policy';
export const AUDIT_STREAM = 'audit';
const CURRENT = 'current';

/** Who made a change: an account id, or `system` for the first load. */
export type Actor = string;

/** One version of the policy as kept in the history. */
export interface PolicyVersion {
  version: number;
  /** The document exactly as it was submitted (sizes may be strings such as "5 GB"). */
  document: unknown;
  who: Actor;
  /** Milliseconds since the epoch. */
  when: number;
  action: 'initial' | 'update' | 'revert';
  /** For a revert: the version whose document was restored. */
  revertedTo?: number;
  /** Against the previous version; empty for the first. */
  changes: Change[];
}

/** What every process holds in memory. */
export interface ActivePolicy {
  version: number;
  compiled: CompiledPolicy;
  /** Validated and typed (sizes in bytes); the same as `compiled.document`. */
  document: PolicyDocument;
  /** Exactly as submitted (sizes may be "5 GB"), for the admin API and reverts. */
  submitted: unknown;
}

export interface PolicyStoreOptions {
  stores: Pick<Stores, 'documents' | 'broadcast' | 'ledger'>;
  clock?: Clock;
  logger?: Logger;
  /** Service ids from the configuration; an update naming others is refused. */
  knownServices?: string[];
  /** Loaded when the store holds no policy yet. */
  initialFile?: string;
  /** Safety-net poll of the stored version, in ms (default 5000; 0 = off). */
  pollMs?: number;
}

function historyId(version: number): string {
  // Zero-padded so that the store lists versions in order.
  return String(version).padStart(12, '0');
}

export class PolicyStore {
  private readonly stores: PolicyStoreOptions['stores'];
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly validation: PolicyValidationOptions;
  private active: ActivePolicy;
  private reloading: Promise<void> = Promise.resolve();
  private unsubscribe?: () => Promise<void>;
  private poll?: NodeJS.Timeout;
  private readonly listeners = new Set<(policy: ActivePolicy) => void>();

  private constructor(options: PolicyStoreOptions, active: ActivePolicy) {
    this.stores = options.stores;
    this.clock = options.clock ?? systemClock;
    this.logger = options.logger ?? silentLogger;
    this.validation = { knownServices: options.knownServices };
    this.active = active;
  }

  /**
   * Loads the stored policy (seeding it from `initialFile` when the store has none), subscribes to
   * changes and starts the poll. Refuses to start on a stored policy that does not validate.
   */
  static async open(options: PolicyStoreOptions): Promise<PolicyStore> {
    const clock = options.clock ?? systemClock;
    let record = await options.stores.documents.get<PolicyVersion>(POLICY_COLLECTION, CURRENT);
    if (!record) {
      const file = options.initialFile ?? DEFAULT_POLICY_FILE;
      const read = readPolicyFile(file);
      if (read.problems.length > 0) throw new InvalidPolicyError(read.problems, file);
      // The shipped defaults name the seeds' services (oficina, agora, meetings); a deployment that
      // runs only some of them still starts, and rules naming absent services simply never match.
      // Changes made later through the admin API are checked against the configured services.
      const checked = validatePolicy(read.raw);
      if (!checked.ok) throw new InvalidPolicyError(checked.problems, file);
      const initial: PolicyVersion = { version: 1, document: read.raw, who: 'system', when: clock.now(), action: 'initial', changes: [] };
      const written = await options.stores.documents.writeVersioned(POLICY_COLLECTION, CURRENT, initial, 0);
      if (written !== undefined) {
        await options.stores.documents.write([{ collection: POLICY_HISTORY_COLLECTION, id: historyId(1), doc: initial }]);
        record = initial;
      } else {
        // Another process seeded it first: use theirs.
        record = await options.stores.documents.get<PolicyVersion>(POLICY_COLLECTION, CURRENT);
        if (!record) throw new Error('The policy vanished from the store while it was being seeded.');
      }
    }
    const store = new PolicyStore(options, PolicyStore.activate(record));
    store.unsubscribe = await options.stores.broadcast.subscribe(POLICY_CHANNEL, (message) => store.onMessage(message));
    const pollMs = options.pollMs ?? 5000;
    if (pollMs > 0) {
      store.poll = setInterval(() => void store.refresh().catch((err: unknown) => store.logger.warn({ err }, 'policy version poll failed')), pollMs);
      store.poll.unref();
    }
    return store;
  }

  private static activate(record: PolicyVersion): ActivePolicy {
    // Stored versions were validated when written; service ids are not re-checked here because the
    // configured services may have changed since, and an unknown service simply matches nothing.
    const checked = validatePolicy(record.document);
    if (!checked.ok) throw new InvalidPolicyError(checked.problems, `Stored policy version ${record.version}`);
    return { version: record.version, compiled: compilePolicy(checked.policy), document: checked.policy, submitted: record.document };
  }

  /** The policy in force in this process. */
  current(): ActivePolicy {
    return this.active;
  }

  get version(): number {
    return this.active.version;
  }

  /** Called after this process switched to a newer version. Returns an unsubscribe function. */
  onChange(listener: (policy: ActivePolicy) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private onMessage(message: string): void {
    let version: unknown;
    try {
      version = (JSON.parse(message) as { version?: unknown }).version;
    } catch {
      version = undefined;
    }
    if (typeof version !== 'number') {
      this.logger.warn({ message: message.slice(0, 100) }, 'ignored a malformed policy broadcast');
      return;
    }
    if (version <= this.active.version) return; // stale or our own change
    void this.reload().catch((err: unknown) => this.logger.error({ err, version }, 'policy reload failed; keeping the previous version'));
  }

  /** Reloads when the stored version is newer than the one in memory (the poll calls this). */
  async refresh(): Promise<void> {
    const stored = await this.stores.documents.version(POLICY_COLLECTION, CURRENT);
    if (stored > this.active.version) await this.reload();
  }

  /** One reload at a time; a reload never replaces a newer policy with an older one. */
  private reload(): Promise<void> {
    this.reloading = this.reloading
      .catch(() => undefined)
      .then(async () => {
        const record = await this.stores.documents.get<PolicyVersion>(POLICY_COLLECTION, CURRENT);
        if (!record || record.version <= this.active.version) return;
        this.install(PolicyStore.activate(record));
      });
    return this.reloading;
  }

  private install(next: ActivePolicy): void {
    if (next.version <= this.active.version) return;
    this.active = next;
    this.logger.info({ version: next.version }, 'policy version in force');
    for (const listener of this.listeners) {
      try {
        listener(next);
      } catch (err) {
        this.logger.error({ err }, 'policy change listener failed');
      }
    }
  }

  /**
   * A change may not name a service that is neither configured nor already named by the policy in
   * force: typos are caught, but a policy seeded with services this deployment does not run (the
   * shipped defaults) can still be edited without first deleting those rules.
   */
  private changeValidation(): PolicyValidationOptions {
    const { knownServices } = this.validation;
    if (!knownServices) return {};
    return { knownServices: [...new Set([...knownServices, ...referencedServices(this.active.submitted)])] };
  }

  /**
   * Validates and stores a new version. `expectedVersion` (what the admin edited) guards against
   * overwriting someone else's change; without it the latest stored version is the base.
   */
  async update(document: unknown, who: Actor, expectedVersion?: number): Promise<PolicyVersion> {
    const checked = validatePolicy(document, this.changeValidation());
    if (!checked.ok) throw new InvalidPolicyError(checked.problems);
    return this.write(document, who, { action: 'update' }, expectedVersion);
  }

  /** Restores exactly the document of `version`, as a new version. */
  async revert(version: number, who: Actor): Promise<PolicyVersion> {
    const target = await this.getVersion(version);
    if (!target) throw notFound(`There is no policy version ${version}.`);
    const checked = validatePolicy(target.document, this.changeValidation());
    if (!checked.ok) throw new InvalidPolicyError(checked.problems, `Policy version ${version}`);
    return this.write(target.document, who, { action: 'revert', revertedTo: version });
  }

  private async write(document: unknown, who: Actor, kind: Pick<PolicyVersion, 'action' | 'revertedTo'>, expectedVersion?: number): Promise<PolicyVersion> {
    const { documents } = this.stores;
    const previous = await documents.get<PolicyVersion>(POLICY_COLLECTION, CURRENT);
    const base = previous?.version ?? 0;
    if (expectedVersion !== undefined && expectedVersion !== base) {
      throw conflict(`The policy changed since version ${expectedVersion} (it is now version ${base}); reload it and apply your change again.`);
    }
    // A copy through JSON: what is stored is exactly what a later revert gives back.
    const stored = JSON.parse(JSON.stringify(document)) as unknown;
    const record: PolicyVersion = {
      version: base + 1,
      document: stored,
      who,
      when: this.clock.now(),
      ...kind,
      changes: diff(previous?.document, stored),
    };
    // The store's counter goes up by one per write, so it stays equal to the policy version.
    const written = await documents.writeVersioned(POLICY_COLLECTION, CURRENT, record, base);
    if (written === undefined) throw conflict('Someone else changed the policy at the same moment; reload it and apply your change again.');
    // The current record already holds this version, so the change is in force from here on; if
    // the history or audit write fails the admin is told exactly that (and `getVersion` falls back
    // to the current record).
    this.install(PolicyStore.activate(record));
    try {
      await documents.write([{ collection: POLICY_HISTORY_COLLECTION, id: historyId(record.version), doc: record }]);
      await this.stores.ledger.append(AUDIT_STREAM, [
        {
          id: newId(),
          time: record.when,
          // Same shape as the directory's audit events (directory/audit.ts), in the same stream.
          data: {
            actor: who,
            action: `policy.${kind.action}`,
            target: { type: 'policy', id: String(record.version) },
            before: { version: base },
            after: { version: record.version, ...(kind.revertedTo ? { revertedTo: kind.revertedTo } : {}), changed: record.changes.map((c) => c.path) },
          },
        },
      ]);
    } catch (cause) {
      this.logger.error({ err: cause, version: record.version, who }, 'policy changed but its history or audit record was not written');
      throw new AppError(503, 'audit_unavailable', `The policy is now version ${record.version}, but its history or audit record could not be written; check the store.`, { cause });
    } finally {
      // Other processes also poll, so a lost announcement only delays them by one poll.
      await this.stores.broadcast
        .publish(POLICY_CHANNEL, JSON.stringify({ version: record.version }))
        .catch((err: unknown) => this.logger.warn({ err, version: record.version }, 'could not announce the policy change; other processes will see it at their next poll'));
    }
    return record;
  }

  /** Every version, oldest first, without the documents (they can be large). */
  async history(): Promise<Array<Omit<PolicyVersion, 'document'>>> {
    const rows = await this.stores.documents.list<PolicyVersion>(POLICY_HISTORY_COLLECTION);
    return rows.map(({ doc }) => {
      const { document: _document, ...summary } = doc;
      return summary;
    });
  }

  async getVersion(version: number): Promise<PolicyVersion | undefined> {
    if (!Number.isSafeInteger(version) || version < 1) return undefined;
    const found = await this.stores.documents.get<PolicyVersion>(POLICY_HISTORY_COLLECTION, historyId(version));
    if (found) return found;
    const current = await this.stores.documents.get<PolicyVersion>(POLICY_COLLECTION, CURRENT);
    return current?.version === version ? current : undefined;
  }

  async close(): Promise<void> {
    if (this.poll) clearInterval(this.poll);
    await this.unsubscribe?.();
    await this.reloading.catch(() => undefined);
  }
}
