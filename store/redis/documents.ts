/** DocumentStore on Redis: a hash of JSON documents and a hash of versions per collection (keys share the {docs} tag). */
import type { DocumentStore } from '../types.ts';
import { toJson } from '../serialise.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import type { Scripts } from './scripts.ts';

export class RedisDocumentStore implements DocumentStore {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly scripts: Scripts;

  constructor(client: RedisClient, keys: RedisKeys, scripts: Scripts) {
    this.client = client;
    this.keys = keys;
    this.scripts = scripts;
  }

  async get<T>(collection: string, id: string): Promise<T | undefined> {
    const text = await this.client.hget(this.keys.documents(collection).docs, id);
    return text === null ? undefined : (JSON.parse(text) as T);
  }

  async list<T>(collection: string, options: { prefix?: string } = {}): Promise<Array<{ id: string; doc: T }>> {
    const key = this.keys.documents(collection).docs;
    const found = new Map<string, string>();
    if (!options.prefix) {
      for (const [id, text] of Object.entries(await this.client.hgetall(key))) found.set(id, text);
    } else {
      // HSCAN may return a field twice; the Map keeps one.
      const match = `${options.prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
      let cursor = '0';
      do {
        const [next, flat] = await this.client.hscan(key, cursor, 'MATCH', match, 'COUNT', 500);
        for (let i = 0; i < flat.length; i += 2) found.set(flat[i], flat[i + 1]);
        cursor = next;
      } while (cursor !== '0');
    }
    return [...found.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([id, text]) => ({ id, doc: JSON.parse(text) as T }));
  }

  async write(changes: Array<{ collection: string; id: string; doc: unknown | undefined }>): Promise<void> {
    if (changes.length === 0) return;
    // Encode everything first: a document that cannot be stored refuses the whole batch before Redis sees any of it.
    const keys: string[] = [];
    const args: string[] = [];
    changes.forEach((c, i) => {
      const k = this.keys.documents(c.collection);
      keys.push(k.docs, k.versions);
      if (c.doc === undefined) args.push('del', c.id, '');
      else args.push('set', c.id, toJson(c.doc, `changes[${i}] (${c.collection}/${c.id})`));
    });
    await this.scripts.run('portaDocsWrite', keys, args);
  }

  async writeVersioned(collection: string, id: string, doc: unknown, expectedVersion: number): Promise<number | undefined> {
    const text = toJson(doc, `${collection}/${id}`);
    const k = this.keys.documents(collection);
    const version = Number(await this.scripts.run('portaDocsWriteVersioned', [k.docs, k.versions], [id, text, expectedVersion]));
    return version < 0 ? undefined : version;
  }

  async version(collection: string, id: string): Promise<number> {
    const v = await this.client.hget(this.keys.documents(collection).versions, id);
    return v === null ? 0 : Number(v);
  }
}
