/** CounterStore on SQLite. Each call is one IMMEDIATE transaction, so check-and-add cannot interleave, even across processes. */
import type { Clock } from '../../kernel/clock.ts';
import type { CounterStore, ReservationResult } from '../types.ts';
import { assertFiniteNumber, assertTtl } from '../serialise.ts';
import type { SqliteDatabase } from './database.ts';

interface CounterRow {
  value: number;
  expires_at: number | null;
}

export class SqliteCounterStore implements CounterStore {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly q;

  constructor(db: SqliteDatabase, clock: Clock) {
    this.db = db;
    this.clock = clock;
    this.q = {
      row: db.prepare<[string, number], CounterRow>(`SELECT value, expires_at FROM counters WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`),
      dropExpired: db.prepare<[string, number]>(`DELETE FROM counters WHERE key = ? AND expires_at IS NOT NULL AND expires_at <= ?`),
      insert: db.prepare<[string, number, number | null]>(`INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?)`),
      update: db.prepare<[number, number | null, string]>(`UPDATE counters SET value = ?, expires_at = ? WHERE key = ?`),
      delete: db.prepare<[string]>(`DELETE FROM counters WHERE key = ?`),
    };
  }

  private expiry(ttlSeconds: number | undefined): number | null {
    return ttlSeconds === undefined ? null : this.clock.now() + Math.round(ttlSeconds * 1000);
  }

  /** The live row, after dropping an expired one. Call inside a transaction. */
  private live(key: string): CounterRow | undefined {
    const now = this.clock.now();
    this.q.dropExpired.run(key, now);
    return this.q.row.get(key, now);
  }

  async increment(key: string, by: number, ttlSeconds?: number): Promise<number> {
    assertFiniteNumber(by, 'by');
    assertTtl(ttlSeconds);
    return this.db.transaction(() => {
      const row = this.live(key);
      if (!row) {
        this.q.insert.run(key, by, this.expiry(ttlSeconds));
        return by;
      }
      const value = row.value + by;
      this.q.update.run(value, row.expires_at, key); // TTL is set on creation only
      return value;
    }).immediate();
  }

  async get(key: string): Promise<number> {
    return this.q.row.get(key, this.clock.now())?.value ?? 0;
  }

  async reserve(key: string, amount: number, limit: number, base = 0, ttlSeconds?: number): Promise<ReservationResult> {
    assertFiniteNumber(amount, 'amount');
    assertFiniteNumber(limit, 'limit');
    assertFiniteNumber(base, 'base');
    assertTtl(ttlSeconds);
    return this.db.transaction((): ReservationResult => {
      const row = this.live(key);
      const current = row?.value ?? 0;
      if (base + current + amount > limit) return { granted: false, total: current };
      const total = current + amount;
      // A granted reservation keeps the key alive at least ttlSeconds more, so reservations still in
      // flight are not dropped, while ones leaked by a crashed process eventually expire.
      const wanted = this.expiry(ttlSeconds);
      if (!row) this.q.insert.run(key, total, wanted);
      else {
        const expiresAt = row.expires_at === null || wanted === null ? row.expires_at : Math.max(row.expires_at, wanted);
        this.q.update.run(total, expiresAt, key);
      }
      return { granted: true, total };
    }).immediate();
  }

  async release(key: string, amount: number): Promise<number> {
    assertFiniteNumber(amount, 'amount');
    return this.db.transaction(() => {
      const row = this.live(key);
      if (!row) return 0;
      const value = Math.max(0, row.value - amount);
      if (value === 0) this.q.delete.run(key);
      else this.q.update.run(value, row.expires_at, key);
      return value;
    }).immediate();
  }

  async reset(key: string): Promise<void> {
    this.q.delete.run(key);
  }
}
