/** KeyValueStore on Redis: plain SET/GET with PX, SET NX for setIfAbsent, GETDEL for take. */
import type { KeyValueStore } from '../types.ts';
import { assertTtl } from '../serialise.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import type { Scripts } from './scripts.ts';

export class RedisKeyValueStore implements KeyValueStore {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly scripts: Scripts;

  constructor(client: RedisClient, keys: RedisKeys, scripts: Scripts) {
    this.client = client;
    this.keys = keys;
    this.scripts = scripts;
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.keys.kv(key))) ?? undefined;
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    assertTtl(ttlSeconds);
    if (ttlSeconds === undefined) await this.client.set(this.keys.kv(key), value);
    else await this.client.set(this.keys.kv(key), value, 'PX', toMs(ttlSeconds));
  }

  async setIfAbsent(key: string, value: string, ttlSeconds?: number): Promise<boolean> {
    assertTtl(ttlSeconds);
    const reply = ttlSeconds === undefined ? await this.client.set(this.keys.kv(key), value, 'NX') : await this.client.set(this.keys.kv(key), value, 'PX', toMs(ttlSeconds), 'NX');
    return reply === 'OK';
  }

  async take(key: string): Promise<string | undefined> {
    return (await this.client.getdel(this.keys.kv(key))) ?? undefined;
  }

  async delete(...keys: string[]): Promise<void> {
    if (keys.length === 0) return;
    // One DEL per key: a multi-key DEL would fail on Cluster when the keys live in different slots.
    await Promise.all(keys.map((k) => this.client.del(this.keys.kv(k))));
  }

  async addToSet(key: string, member: string, ttlSeconds?: number): Promise<void> {
    assertTtl(ttlSeconds);
    await this.scripts.run('portaAddToSet', [this.keys.kv(key)], [member, ttlSeconds === undefined ? 0 : toMs(ttlSeconds)]);
  }

  async setMembers(key: string): Promise<string[]> {
    return this.client.smembers(this.keys.kv(key));
  }

  async ttl(key: string): Promise<number | undefined> {
    const ms = await this.client.pttl(this.keys.kv(key));
    if (ms === -2) return undefined;
    if (ms === -1) return Infinity;
    return Math.ceil(ms / 1000);
  }
}

export function toMs(ttlSeconds: number): number {
  return Math.max(1, Math.round(ttlSeconds * 1000));
}
