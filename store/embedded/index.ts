/** The embedded store: every port in one local SQLite file (WAL mode), owned by one process. */
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import type { Broadcast, CounterStore, DocumentStore, KeyValueStore, Ledger, Stores } from '../types.ts';
import { LocalBroadcast } from './broadcast.ts';
import { SqliteCounterStore } from './counters.ts';
import { openDatabase, purgeExpired, type SqliteDatabase } from './database.ts';
import { SqliteDocumentStore } from './documents.ts';
import { SqliteKeyValueStore } from './kv.ts';
import { SqliteLedger } from './ledger.ts';

export interface EmbeddedStoreOptions {
  /** The SQLite file, or `:memory:`. */
  path: string;
  clock?: Clock;
  logger?: Logger;
  /** How often expired keys and counters are deleted (reads ignore them anyway). Default 60 s. */
  purgeIntervalMs?: number;
}

export class EmbeddedStores implements Stores {
  readonly kind = 'embedded' as const;
  readonly kv: KeyValueStore;
  readonly counters: CounterStore;
  readonly ledger: Ledger;
  readonly documents: DocumentStore;
  readonly broadcast: Broadcast;
  /** The open database; `createRateLimiter` keeps its counters in the same file. */
  readonly db: SqliteDatabase;
  private readonly purgeTimer: NodeJS.Timeout;
  private closed = false;

  constructor(options: EmbeddedStoreOptions) {
    const clock = options.clock ?? systemClock;
    const logger = options.logger ?? silentLogger;
    this.db = openDatabase(options.path);
    this.kv = new SqliteKeyValueStore(this.db, clock);
    this.counters = new SqliteCounterStore(this.db, clock);
    this.ledger = new SqliteLedger(this.db);
    this.documents = new SqliteDocumentStore(this.db);
    this.broadcast = new LocalBroadcast(logger);
    this.purgeTimer = setInterval(() => {
      try {
        purgeExpired(this.db, clock.now());
      } catch (err) {
        logger.warn({ err }, 'embedded store: purging expired rows failed');
      }
    }, options.purgeIntervalMs ?? 60_000);
    this.purgeTimer.unref();
  }

  /** Deletes expired rows now (also runs on a timer). */
  purgeExpired(now: number): void {
    purgeExpired(this.db, now);
  }

  async ping(): Promise<void> {
    if (this.closed) throw new StoreUnavailableError('embedded', new Error('closed'));
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.purgeTimer);
    this.db.close();
  }
}

export async function createEmbeddedStores(options: EmbeddedStoreOptions): Promise<EmbeddedStores> {
  return new EmbeddedStores(options);
}
