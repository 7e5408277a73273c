/**
 * Ledger on SQLite: one table, `seq` gives append order, UNIQUE (stream, id) makes appends idempotent.
 * Every page is a keyset query that starts where the last one ended, through an index in the same
 * order (`ledger_log` for read, `ledger_time` for range; see database.ts), so a page costs the same
 * at the end of a month as at its start. `test/store/embedded-ledger.test.ts` pins the query plans.
 */
import type { Ledger, LedgerBatch, LedgerEntry, LedgerPage } from '../types.ts';
import { assertStream, encodeEntries, entriesOf, parseCursor, readLimit } from '../ledger-entries.ts';
import type { SqliteDatabase } from './database.ts';

interface LedgerRow {
  seq: number;
  id: string;
  time: number;
  data: string;
}

const RANGE_PAGE = 500;

/** The ledger's statements (exported so that a test can pin their query plans). */
export const LEDGER_SQL = {
  insert: `INSERT OR IGNORE INTO ledger (stream, id, time, data) VALUES (?, ?, ?, ?)`,
  read: `SELECT seq, id, time, data FROM ledger WHERE stream = ? AND seq > ? ORDER BY seq LIMIT ?`,
  rangeFirst: `SELECT seq, id, time, data FROM ledger WHERE stream = ? AND time >= ? AND time < ? ORDER BY time, id LIMIT ?`,
  // A row value, not `time > ? OR (time = ? AND id > ?)`: SQLite turns only the row value into a
  // range on the index; with the OR it scanned the stream from its start on every page.
  rangeNext: `SELECT seq, id, time, data FROM ledger WHERE stream = ? AND (time, id) > (?, ?) AND time < ? ORDER BY time, id LIMIT ?`,
  deleteBefore: `DELETE FROM ledger WHERE stream = ? AND time < ?`,
  count: `SELECT COUNT(*) AS n FROM ledger WHERE stream = ?`,
} as const;

export class SqliteLedger implements Ledger {
  private readonly db: SqliteDatabase;
  private readonly q;

  constructor(db: SqliteDatabase) {
    this.db = db;
    this.q = {
      insert: db.prepare<[string, string, number, string]>(LEDGER_SQL.insert),
      read: db.prepare<[string, number, number], LedgerRow>(LEDGER_SQL.read),
      rangeFirst: db.prepare<[string, number, number, number], LedgerRow>(LEDGER_SQL.rangeFirst),
      rangeNext: db.prepare<[string, number, string, number, number], LedgerRow>(LEDGER_SQL.rangeNext),
      deleteBefore: db.prepare<[string, number]>(LEDGER_SQL.deleteBefore),
      count: db.prepare<[string], { n: number }>(LEDGER_SQL.count),
    };
  }

  async append(stream: string, entries: LedgerBatch): Promise<number> {
    assertStream(stream);
    const encoded = encodeEntries(entriesOf(entries));
    if (encoded.length === 0) return 0;
    return this.db.transaction(() => {
      let added = 0;
      for (const e of encoded) added += this.q.insert.run(stream, e.id, e.time, e.data).changes;
      return added;
    }).immediate();
  }

  async read(stream: string, options: { after?: string; limit?: number } = {}): Promise<LedgerPage> {
    assertStream(stream);
    const after = options.after === undefined ? 0 : parseCursor(options.after);
    const limit = readLimit(options.limit);
    // One extra row tells whether there is a next page, so `next` is undefined exactly at the end.
    const rows = this.q.read.all(stream, after, limit + 1);
    const page = rows.slice(0, limit);
    return {
      entries: page.map(toEntry),
      next: rows.length > limit ? String(page[page.length - 1].seq) : undefined,
    };
  }

  async *range(stream: string, from: number, to: number): AsyncIterable<LedgerEntry> {
    assertStream(stream);
    let rows = this.q.rangeFirst.all(stream, from, to, RANGE_PAGE);
    while (rows.length > 0) {
      for (const row of rows) yield toEntry(row);
      if (rows.length < RANGE_PAGE) return;
      const last = rows[rows.length - 1];
      rows = this.q.rangeNext.all(stream, last.time, last.id, to, RANGE_PAGE);
    }
  }

  async deleteBefore(stream: string, before: number): Promise<number> {
    assertStream(stream);
    return this.q.deleteBefore.run(stream, before).changes;
  }

  async count(stream: string): Promise<number> {
    assertStream(stream);
    return this.q.count.get(stream)?.n ?? 0;
  }
}

function toEntry(row: LedgerRow): LedgerEntry {
  return { id: row.id, time: row.time, data: JSON.parse(row.data) as Record<string, unknown> };
}
