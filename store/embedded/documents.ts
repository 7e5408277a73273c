/** DocumentStore on SQLite: one row per document with a version counter for compare-and-set. */
import type { DocumentStore } from '../types.ts';
import { toJson } from '../serialise.ts';
import type { SqliteDatabase } from './database.ts';

export class SqliteDocumentStore implements DocumentStore {
  private readonly db: SqliteDatabase;
  private readonly q;

  constructor(db: SqliteDatabase) {
    this.db = db;
    this.q = {
      get: db.prepare<[string, string], { doc: string }>(`SELECT doc FROM documents WHERE collection = ? AND id = ?`),
      list: db.prepare<[string], { id: string; doc: string }>(`SELECT id, doc FROM documents WHERE collection = ? ORDER BY id`),
      listPrefix: db.prepare<[string, string, string], { id: string; doc: string }>(
        `SELECT id, doc FROM documents WHERE collection = ? AND substr(id, 1, length(?)) = ? ORDER BY id`,
      ),
      version: db.prepare<[string, string], { version: number }>(`SELECT version FROM documents WHERE collection = ? AND id = ?`),
      upsert: db.prepare<[string, string, string]>(
        `INSERT INTO documents (collection, id, doc, version) VALUES (?, ?, ?, 1)
         ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc, version = version + 1`,
      ),
      delete: db.prepare<[string, string]>(`DELETE FROM documents WHERE collection = ? AND id = ?`),
    };
  }

  async get<T>(collection: string, id: string): Promise<T | undefined> {
    const row = this.q.get.get(collection, id);
    return row ? (JSON.parse(row.doc) as T) : undefined;
  }

  async list<T>(collection: string, options: { prefix?: string } = {}): Promise<Array<{ id: string; doc: T }>> {
    const rows = options.prefix ? this.q.listPrefix.all(collection, options.prefix, options.prefix) : this.q.list.all(collection);
    return rows.map((r) => ({ id: r.id, doc: JSON.parse(r.doc) as T }));
  }

  async write(changes: Array<{ collection: string; id: string; doc: unknown | undefined }>): Promise<void> {
    // Encode everything first: a document that cannot be stored refuses the whole batch.
    const encoded = changes.map((c, i) => ({
      collection: c.collection,
      id: c.id,
      doc: c.doc === undefined ? undefined : toJson(c.doc, `changes[${i}] (${c.collection}/${c.id})`),
    }));
    this.db.transaction(() => {
      for (const c of encoded) {
        if (c.doc === undefined) this.q.delete.run(c.collection, c.id);
        else this.q.upsert.run(c.collection, c.id, c.doc);
      }
    }).immediate();
  }

  async writeVersioned(collection: string, id: string, doc: unknown, expectedVersion: number): Promise<number | undefined> {
    const text = toJson(doc, `${collection}/${id}`);
    return this.db.transaction(() => {
      const current = this.q.version.get(collection, id)?.version ?? 0;
      if (current !== expectedVersion) return undefined;
      this.q.upsert.run(collection, id, text);
      return current + 1;
    }).immediate();
  }

  async version(collection: string, id: string): Promise<number> {
    return this.q.version.get(collection, id)?.version ?? 0;
  }
}
