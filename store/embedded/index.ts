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
import { failClosed } from '../fail-closed.ts';

/** SQLite result codes that mean the file cannot be used right now (locked, full, I/O, read-only, closed). */
const OUTAGE_CODES = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN|CORRUPT|NOTADB|PROTOCOL|NOMEM)/;

export function isSqliteOutage(err: unknown): boolean {
  // Duck-typed: errors from the native addon may come from another realm (e.g. under jest's vm), where instanceof fails.
  if (typeof err !== 'object' || err === null) return false;
  const { code, message } = err as { code?: unknown; message?: unknown };
  if (typeof code === 'string') return OUTAGE_CODES.test(code);
  return message === 'The database connection is not open';
}

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
    this.kv = failClosed(new SqliteKeyValueStore(this.db, clock), 'embedded', isSqliteOutage);
    this.counters = failClosed(new SqliteCounterStore(this.db, clock), 'embedded', isSqliteOutage);
    this.ledger = failClosed(new SqliteLedger(this.db), 'embedded', isSqliteOutage);
    this.documents = failClosed(new SqliteDocumentStore(this.db), 'embedded', isSqliteOutage);
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
  purgeExpired(now: number, systemNow?: number): void {
    purgeExpired(this.db, now, systemNow);
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
