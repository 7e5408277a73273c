/**
 * The ports that the rest of Porta uses for shared state. `store/` is the one place that knows about
 * Redis or SQLite; everything else sees only these interfaces. Each port has one contract suite in
 * `test/contracts/` that runs against both implementations (`embedded` and `redis`).
 *
 * Keys are plain strings; callers namespace them (`oidc:`, `session:`, `rl:` …). TTLs are seconds.
 */

/** Key/value with expiry: OIDC artefacts, sessions, caches. */
export interface KeyValueStore {
  get(key: string): Promise<string | undefined>;
  /** Stores `value`; with `ttlSeconds` the key disappears after that many seconds. */
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Stores only if the key does not exist; true when it was stored. Atomic. */
  setIfAbsent(key: string, value: string, ttlSeconds?: number): Promise<boolean>;
  /** Reads and deletes in one atomic step (single-use tokens). */
  take(key: string): Promise<string | undefined>;
  delete(...keys: string[]): Promise<void>;
  /** Adds a member to a set kept under `key`; the set's TTL becomes at least `ttlSeconds`. */
  addToSet(key: string, member: string, ttlSeconds?: number): Promise<void>;
  setMembers(key: string): Promise<string[]>;
  /** Seconds left before `key` expires; undefined if absent, Infinity if it never expires. */
  ttl(key: string): Promise<number | undefined>;
}

export interface ReservationResult {
  /** True when the amount fitted under the limit and was added. */
  granted: boolean;
  /** The total held under the key after the call. */
  total: number;
}

/** Atomic counters and reservations: rate limits, quotas, daily caps. */
export interface CounterStore {
  /** Adds `by` (may be negative) and returns the new value. The key expires `ttlSeconds` after it was created. */
  increment(key: string, by: number, ttlSeconds?: number): Promise<number>;
  get(key: string): Promise<number>;
  /**
   * Adds `amount` only if `base + current + amount <= limit`, atomically, so that concurrent callers
   * (also in other processes) can never together pass the limit. `base` is usage known from elsewhere
   * (for example the bytes the upstream already stores).
   */
  reserve(key: string, amount: number, limit: number, base?: number, ttlSeconds?: number): Promise<ReservationResult>;
  /** Gives back a reservation; never goes below zero. */
  release(key: string, amount: number): Promise<number>;
  reset(key: string): Promise<void>;
}

/** One usage or audit record in the ledger. `id` makes writes idempotent: a retried append never counts twice. */
export interface LedgerEntry {
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  data: Record<string, unknown>;
}

/**
 * An entry whose data its producer has already encoded as JSON (once, for its own journal too):
 * appended as it is, without encoding again. Reads give it back as a LedgerEntry.
 */
export interface EncodedLedgerEntry {
  id: string;
  time: number;
  /** `JSON.stringify` of an object. */
  json: string;
}

/**
 * Entries already encoded as lines, `id <TAB> time <TAB> json <LF>` each (the usage journal's own
 * lines, see metering/journal.ts): appended as bytes, without a JS object per entry. Its producer
 * vouches for the format: ids without control characters, times as integers, json the JSON text of
 * an object (JSON.stringify never writes a raw tab or newline).
 */
export interface LedgerLines {
  lines: Buffer;
  count: number;
}

export type LedgerBatch = ReadonlyArray<LedgerEntry | EncodedLedgerEntry> | LedgerLines;

export interface LedgerPage {
  entries: LedgerEntry[];
  /** Pass back as `after` to read on; undefined at the end. */
  next?: string;
}

/** An append-only, ordered log of records with ids (usage). */
export interface Ledger {
  /** Appends entries; an entry whose id is already in the ledger is skipped. Returns how many were new. */
  append(stream: string, entries: LedgerBatch): Promise<number>;
  /** Reads in append order. */
  read(stream: string, options?: { after?: string; limit?: number }): Promise<LedgerPage>;
  /** Entries with `from <= time < to`, in time order (id breaks ties). */
  range(stream: string, from: number, to: number): AsyncIterable<LedgerEntry>;
  /** Deletes entries older than `before`; returns how many. */
  deleteBefore(stream: string, before: number): Promise<number>;
  count(stream: string): Promise<number>;
}

/** Small platform tables: plans, subscriptions, policies, collectives in embedded mode, audit. */
export interface DocumentStore {
  get<T>(collection: string, id: string): Promise<T | undefined>;
  list<T>(collection: string, options?: { prefix?: string }): Promise<Array<{ id: string; doc: T }>>;
  /** Writes several documents atomically: all or none. `undefined` deletes. */
  write(changes: Array<{ collection: string; id: string; doc: unknown | undefined }>): Promise<void>;
  /**
   * Compare-and-set on one document's version counter: writes only if the stored version equals
   * `expectedVersion` (0 for absent). Returns the new version, or undefined on conflict.
   */
  writeVersioned(collection: string, id: string, doc: unknown, expectedVersion: number): Promise<number | undefined>;
  version(collection: string, id: string): Promise<number>;
}

/** Change notifications between processes (policy changes, logout). Embedded: within the process. */
export interface Broadcast {
  publish(channel: string, message: string): Promise<void>;
  /** Returns an unsubscribe function. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /**
   * False while messages may be missed (the connection that carries them is down). A cache kept
   * fresh by these messages (sessions, identities) must not be trusted then: fail closed.
   */
  connected(): boolean;
  /** Changes whenever delivery was interrupted and resumed: a cache drops what it held across the gap. */
  epoch(): number;
}

export interface Stores {
  kind: 'embedded' | 'redis';
  kv: KeyValueStore;
  counters: CounterStore;
  ledger: Ledger;
  documents: DocumentStore;
  broadcast: Broadcast;
  /** Resolves when the backend answers; rejects otherwise. Used by /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
