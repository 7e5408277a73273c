/** KeyValueStore on SQLite: strings and sets share one key space, as in Redis. */
import type { Clock } from '../../kernel/clock.ts';
import type { KeyValueStore } from '../types.ts';
import { assertTtl } from '../serialise.ts';
import type { SqliteDatabase } from './database.ts';

interface KvRow {
  kind: 'string' | 'set';
  value: string | null;
  expires_at: number | null;
}

export class SqliteKeyValueStore implements KeyValueStore {
  private readonly db: SqliteDatabase;
  private readonly clock: Clock;
  private readonly q;

  constructor(db: SqliteDatabase, clock: Clock) {
    this.db = db;
    this.clock = clock;
    this.q = {
      row: db.prepare<[string, number], KvRow>(`SELECT kind, value, expires_at FROM kv WHERE key = ? AND (expires_at IS NULL OR expires_at > ?)`),
      dropExpired: db.prepare<[string, number]>(`DELETE FROM kv WHERE key = ? AND expires_at IS NOT NULL AND expires_at <= ?`),
      dropMembers: db.prepare<[string]>(`DELETE FROM kv_set_members WHERE key = ?`),
      upsertString: db.prepare<[string, string, number | null]>(
        `INSERT INTO kv (key, kind, value, expires_at) VALUES (?, 'string', ?, ?)
         ON CONFLICT (key) DO UPDATE SET kind = 'string', value = excluded.value, expires_at = excluded.expires_at`,
      ),
      insertString: db.prepare<[string, string, number | null]>(`INSERT OR IGNORE INTO kv (key, kind, value, expires_at) VALUES (?, 'string', ?, ?)`),
      upsertSet: db.prepare<[string, number | null]>(
        `INSERT INTO kv (key, kind, value, expires_at) VALUES (?, 'set', NULL, ?)
         ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at`,
      ),
      addMember: db.prepare<[string, string]>(`INSERT OR IGNORE INTO kv_set_members (key, member) VALUES (?, ?)`),
      members: db.prepare<[string], { member: string }>(`SELECT member FROM kv_set_members WHERE key = ? ORDER BY member`),
      delete: db.prepare<[string]>(`DELETE FROM kv WHERE key = ?`),
    };
  }

  private expiry(ttlSeconds: number | undefined): number | null {
    return ttlSeconds === undefined ? null : this.clock.now() + Math.round(ttlSeconds * 1000);
  }

  /** Removes `key` if it has expired, so that writes start from a clean slate. Call inside a transaction. */
  private clearIfExpired(key: string): void {
    if (this.q.dropExpired.run(key, this.clock.now()).changes > 0) this.q.dropMembers.run(key);
  }

  async get(key: string): Promise<string | undefined> {
    const row = this.q.row.get(key, this.clock.now());
    return row?.kind === 'string' ? (row.value ?? undefined) : undefined;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    assertTtl(ttlSeconds);
    this.db.transaction(() => {
      this.q.dropMembers.run(key);
      this.q.upsertString.run(key, value, this.expiry(ttlSeconds));
    }).immediate();
  }

  async setIfAbsent(key: string, value: string, ttlSeconds?: number): Promise<boolean> {
    assertTtl(ttlSeconds);
    return this.db.transaction(() => {
      this.clearIfExpired(key);
      return this.q.insertString.run(key, value, this.expiry(ttlSeconds)).changes > 0;
    }).immediate();
  }

  async take(key: string): Promise<string | undefined> {
    return this.db.transaction(() => {
      const row = this.q.row.get(key, this.clock.now());
      if (row?.kind !== 'string') return undefined;
      this.q.delete.run(key);
      return row.value ?? undefined;
    }).immediate();
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    this.db.transaction(() => {
      for (const key of keys) {
        this.q.delete.run(key);
        this.q.dropMembers.run(key);
      }
    }).immediate();
  }

  async addToSet(key: string, member: string, ttlSeconds?: number): Promise<void> {
    assertTtl(ttlSeconds);
    this.db.transaction(() => {
      this.clearIfExpired(key);
      const row = this.q.row.get(key, this.clock.now());
      if (row?.kind === 'string') this.q.delete.run(key); // a set replaces a string under the same key
      const existing = row?.kind === 'set' ? row : undefined;
      const wanted = this.expiry(ttlSeconds);
      // The TTL only ever grows: "at least ttlSeconds". A set without expiry keeps none.
      let expiresAt: number | null;
      if (!existing) expiresAt = wanted;
      else if (existing.expires_at === null || wanted === null) expiresAt = existing.expires_at;
      else expiresAt = Math.max(existing.expires_at, wanted);
      this.q.upsertSet.run(key, expiresAt);
      this.q.addMember.run(key, member);
    }).immediate();
  }

  async setMembers(key: string): Promise<string[]> {
    const row = this.q.row.get(key, this.clock.now());
    if (row?.kind !== 'set') return [];
    return this.q.members.all(key).map((r) => r.member);
  }

  async ttl(key: string): Promise<number | undefined> {
    const row = this.q.row.get(key, this.clock.now());
    if (!row) return undefined;
    if (row.expires_at === null) return Infinity;
    return Math.ceil((row.expires_at - this.clock.now()) / 1000);
  }
}
