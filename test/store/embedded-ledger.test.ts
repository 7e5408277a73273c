/**
 * The embedded ledger's statements page through an index (checked with EXPLAIN QUERY PLAN, before
 * and after ANALYZE), and a file written before the paging indexes existed gains them when opened.
 */
import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openDatabase, type SqliteDatabase } from '../../store/embedded/database.ts';
import { LEDGER_SQL } from '../../store/embedded/ledger.ts';
import { createEmbeddedStores } from '../../store/embedded/index.ts';
import type { LedgerEntry } from '../../store/types.ts';

const T0 = Date.UTC(2026, 2, 1);

/** The plan's detail lines for a statement, with every parameter bound to a placeholder value. */
function plan(db: SqliteDatabase, sql: string): string[] {
  const params = (sql.match(/\?/g) ?? []).map(() => 1);
  return db
    .prepare<number[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
    .all(...params)
    .map((row) => row.detail);
}

function ledgerIndexes(db: SqliteDatabase): string[] {
  return db
    .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'ledger' AND name NOT LIKE 'sqlite_%' ORDER BY name`)
    .all()
    .map((row) => row.name);
}

function expectIndexedPlans(db: SqliteDatabase): void {
  expect(plan(db, LEDGER_SQL.read)).toEqual(['SEARCH ledger USING INDEX ledger_log (stream=? AND seq>?)']);
  expect(plan(db, LEDGER_SQL.rangeFirst)).toEqual(['SEARCH ledger USING INDEX ledger_time (stream=? AND time>? AND time<?)']);
  // The page after the first starts at the last (time, id) read: a range on the index, not a scan from the stream's start.
  expect(plan(db, LEDGER_SQL.rangeNext)).toEqual(['SEARCH ledger USING INDEX ledger_time (stream=? AND (time,id)>(?,?) AND time<?)']);
  expect(plan(db, LEDGER_SQL.deleteBefore)).toEqual(['SEARCH ledger USING INDEX ledger_time (stream=? AND time<?)']);
  for (const sql of Object.values(LEDGER_SQL)) {
    for (const step of plan(db, sql)) expect(step).not.toMatch(/^SCAN|TEMP B-TREE/);
  }
}

describe('embedded ledger: query plans', () => {
  it('pages read and range through their indexes, with and without table statistics', async () => {
    const stores = await createEmbeddedStores({ path: ':memory:' });
    try {
      expectIndexedPlans(stores.db);
      const entries = (stream: string): LedgerEntry[] => Array.from({ length: 3000 }, (_, i) => ({ id: `${stream}-${i}`, time: T0 + (i % 97) * 1000, data: { n: i } }));
      await stores.ledger.append('usage', entries('usage'));
      await stores.ledger.append('audit', entries('audit').slice(0, 50));
      stores.db.exec('ANALYZE');
      expectIndexedPlans(stores.db);
      let n = 0;
      for await (const _ of stores.ledger.range('usage', T0, T0 + 97_000)) n++;
      expect(n).toBe(3000);
    } finally {
      await stores.close();
    }
  });
});

describe('embedded ledger: files from before the paging indexes', () => {
  it('creates the missing indexes at open and reads the old entries through them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porta-ledger-migrate-'));
    const path = join(dir, 'porta.db');
    try {
      // The ledger table as an older Porta wrote it: no time index, no append-order index.
      const old = new Database(path);
      old.exec(`CREATE TABLE ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, id TEXT NOT NULL, time INTEGER NOT NULL, data TEXT NOT NULL, UNIQUE (stream, id))`);
      const insert = old.prepare<[string, number, string]>(`INSERT INTO ledger (stream, id, time, data) VALUES ('usage', ?, ?, ?)`);
      old.transaction(() => {
        for (let i = 0; i < 1500; i++) insert.run(`old-${String(i).padStart(4, '0')}`, T0 + (1499 - i), JSON.stringify({ n: i }));
      })();
      expect(ledgerIndexes(old)).toEqual([]);
      old.close();

      const stores = await createEmbeddedStores({ path });
      try {
        expect(ledgerIndexes(stores.db)).toEqual(['ledger_log', 'ledger_time']);
        expectIndexedPlans(stores.db);
        const inTime: string[] = [];
        for await (const e of stores.ledger.range('usage', T0, T0 + 1500)) inTime.push(e.id);
        expect(inTime).toHaveLength(1500);
        expect(inTime[0]).toBe('old-1499');
        expect(inTime[1499]).toBe('old-0000');
        const page = await stores.ledger.read('usage', { limit: 2 });
        expect(page.entries.map((e) => e.id)).toEqual(['old-0000', 'old-0001']);
        expect(await stores.ledger.append('usage', [{ id: 'old-0000', time: T0, data: {} }, { id: 'new', time: T0, data: {} }])).toBe(1);
      } finally {
        await stores.close();
      }
      // Opening again finds the indexes in place and changes nothing.
      const again = openDatabase(path);
      expect(ledgerIndexes(again)).toEqual(['ledger_log', 'ledger_time']);
      again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
