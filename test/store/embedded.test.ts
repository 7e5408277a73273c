/** Every store contract against the embedded (SQLite) store, with a manual clock for TTLs. */
import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../kernel/clock.ts';
import { createEmbeddedStores, isSqliteOutage } from '../../store/embedded/index.ts';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import { runKeyValueContract, type MakeStores } from '../contracts/kv.contract.ts';
import { runCountersContract } from '../contracts/counters.contract.ts';
import { runLedgerContract } from '../contracts/ledger.contract.ts';
import { runDocumentsContract } from '../contracts/documents.contract.ts';
import { runBroadcastContract } from '../contracts/broadcast.contract.ts';

/** A fresh file-backed store per suite (a file, not :memory:, so WAL and the folder creation are exercised). */
const makeStores: MakeStores = async () => {
  const dir = mkdtempSync(join(tmpdir(), 'porta-embedded-'));
  const clock = new ManualClock();
  const stores = await createEmbeddedStores({ path: join(dir, 'nested', 'porta.db'), clock });
  return {
    stores,
    advance: (ms) => clock.advance(ms),
    cleanup: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

runKeyValueContract('embedded', makeStores);
runCountersContract('embedded', makeStores);
runLedgerContract('embedded', makeStores);
runDocumentsContract('embedded', makeStores);
runBroadcastContract('embedded', makeStores);

describe('embedded store specifics', () => {
  it('creates the folder, uses WAL, and works in memory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porta-embedded-'));
    const path = join(dir, 'a', 'b', 'porta.db');
    const stores = await createEmbeddedStores({ path });
    expect(existsSync(path)).toBe(true);
    expect(stores.db.pragma('journal_mode', { simple: true })).toBe('wal');
    await stores.close();
    rmSync(dir, { recursive: true, force: true });

    const memory = await createEmbeddedStores({ path: ':memory:' });
    await memory.kv.set('k', 'v');
    expect(await memory.kv.get('k')).toBe('v');
    await memory.close();
  });

  it('purges expired rows from the file, and reports unavailable once closed', async () => {
    const clock = new ManualClock();
    const stores = await createEmbeddedStores({ path: ':memory:', clock });
    await stores.kv.set('short', 'v', 1);
    await stores.kv.addToSet('set', 'm', 1);
    await stores.counters.increment('ctr', 1, 1);
    await stores.kv.set('long', 'v', 100);
    const insertLimit = stores.db.prepare('INSERT INTO rate_limits (key, points, expire) VALUES (?, 1, ?)');
    insertLimit.run('rl:stale', Date.now() - 2 * 3_600_000);
    insertLimit.run('rl:live', Date.now() + 60_000);
    clock.advance(2000);
    stores.purgeExpired(clock.now(), Date.now());
    expect(stores.db.prepare('SELECT key FROM rate_limits').all()).toEqual([{ key: 'rl:live' }]);
    const rows = (sql: string) => (stores.db.prepare(sql).get() as { n: number }).n;
    expect(rows('SELECT COUNT(*) AS n FROM kv')).toBe(1);
    expect(rows('SELECT COUNT(*) AS n FROM kv_set_members')).toBe(0);
    expect(rows('SELECT COUNT(*) AS n FROM counters')).toBe(0);
    await stores.close();
    await expect(stores.ping()).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
    await expect(stores.kv.get('long')).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(stores.counters.reserve('q', 1, 2)).rejects.toBeInstanceOf(StoreUnavailableError);
    // Argument errors stay what they are: a bug in the caller, not an outage.
    const open = await createEmbeddedStores({ path: ':memory:' });
    await expect(open.kv.set('k', 'v', -1)).rejects.toBeInstanceOf(TypeError);
    await open.close();
  });

  it('classifies SQLite failures that mean "cannot use the file now" as outages', () => {
    const sqliteError = (code: string) => Object.assign(new Error(code), { code });
    expect(isSqliteOutage(sqliteError('SQLITE_BUSY'))).toBe(true);
    expect(isSqliteOutage(sqliteError('SQLITE_FULL'))).toBe(true);
    expect(isSqliteOutage(sqliteError('SQLITE_IOERR_WRITE'))).toBe(true);
    expect(isSqliteOutage(sqliteError('SQLITE_CONSTRAINT_PRIMARYKEY'))).toBe(false);
    expect(isSqliteOutage(new TypeError('ttlSeconds must be a positive number'))).toBe(false);
  });
});
