/** Opens the embedded store's SQLite file and creates its tables. */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';

export type SqliteDatabase = Database.Database;

/** The table rate-limiter-flexible's RateLimiterSQLite uses (its own layout, created here so it exists before the first call). */
export const RATE_LIMIT_TABLE = 'rate_limits';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  kind TEXT NOT NULL CHECK (kind IN ('string', 'set')),
  value TEXT,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS kv_set_members (
  key TEXT NOT NULL,
  member TEXT NOT NULL,
  PRIMARY KEY (key, member)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS kv_expires ON kv (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS counters (
  key TEXT PRIMARY KEY,
  value REAL NOT NULL,
  expires_at INTEGER
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS counters_expires ON counters (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS ledger (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  stream TEXT NOT NULL,
  id TEXT NOT NULL,
  time INTEGER NOT NULL,
  data TEXT NOT NULL,
  UNIQUE (stream, id)
);

CREATE TABLE IF NOT EXISTS documents (
  collection TEXT NOT NULL,
  id TEXT NOT NULL,
  doc TEXT NOT NULL,
  version INTEGER NOT NULL,
  PRIMARY KEY (collection, id)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS ${RATE_LIMIT_TABLE} (
  key TEXT PRIMARY KEY,
  points INTEGER NOT NULL DEFAULT 0,
  expire INTEGER
);
`;

/**
 * The ledger's paging indexes, one per order a page is read in: `ledger_time` for range and
 * deleteBefore (time, then id), `ledger_log` for read (append order). Created at every open, so a
 * file written by an older Porta gains the ones it lacks (a one-off build of a few seconds for
 * millions of entries); without `ledger_log` a page of read sorted the whole stream.
 */
export const LEDGER_INDEXES = `
CREATE INDEX IF NOT EXISTS ledger_time ON ledger (stream, time, id);
CREATE INDEX IF NOT EXISTS ledger_log ON ledger (stream, seq);
`;

/** `path` may be `:memory:` (tests). The folder of a file path is created if missing. */
export function openDatabase(path: string): SqliteDatabase {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode is durable across process crashes; only a power loss may drop the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  db.exec(SCHEMA);
  db.exec(LEDGER_INDEXES);
  return db;
}

/**
 * Deletes expired rows; reads already treat them as absent, this only reclaims space. `now` is the
 * store's clock. Rate-limit rows are judged by the system time, because rate-limiter-flexible
 * stamps them with Date.now(); they are kept an hour past expiry, as the library itself does.
 */
export function purgeExpired(db: SqliteDatabase, now: number, systemNow = Date.now()): void {
  db.transaction(() => {
    db.prepare(`DELETE FROM kv_set_members WHERE key IN (SELECT key FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?)`).run(now);
    db.prepare(`DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?`).run(now);
    db.prepare(`DELETE FROM counters WHERE expires_at IS NOT NULL AND expires_at <= ?`).run(now);
    db.prepare(`DELETE FROM ${RATE_LIMIT_TABLE} WHERE expire IS NOT NULL AND expire < ?`).run(systemNow - 3_600_000);
  }).immediate();
}
