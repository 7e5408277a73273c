/** CounterStore on Redis: each operation is one Lua script, so check-and-add is atomic across processes. */
import type { CounterStore, ReservationResult } from '../types.ts';
import { assertFiniteNumber, assertTtl } from '../serialise.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import { toMs } from './kv.ts';
import type { Scripts } from './scripts.ts';

export class RedisCounterStore implements CounterStore {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly scripts: Scripts;

  constructor(client: RedisClient, keys: RedisKeys, scripts: Scripts) {
    this.client = client;
    this.keys = keys;
    this.scripts = scripts;
  }

  async increment(key: string, by: number, ttlSeconds?: number): Promise<number> {
    assertFiniteNumber(by, 'by');
    assertTtl(ttlSeconds);
    const reply = await this.scripts.run('portaIncrement', [this.keys.counter(key)], [String(by), ttlMs(ttlSeconds)]);
    return Number(reply);
  }

  async get(key: string): Promise<number> {
    const raw = await this.client.get(this.keys.counter(key));
    return raw === null ? 0 : Number(raw);
  }

  async reserve(key: string, amount: number, limit: number, base = 0, ttlSeconds?: number): Promise<ReservationResult> {
    assertFiniteNumber(amount, 'amount');
    assertFiniteNumber(limit, 'limit');
    assertFiniteNumber(base, 'base');
    assertTtl(ttlSeconds);
    const [granted, total] = (await this.scripts.run('portaReserve', [this.keys.counter(key)], [String(amount), String(limit), String(base), ttlMs(ttlSeconds)])) as [number, string];
    return { granted: granted === 1, total: Number(total) };
  }

  async release(key: string, amount: number): Promise<number> {
    assertFiniteNumber(amount, 'amount');
    return Number(await this.scripts.run('portaRelease', [this.keys.counter(key)], [String(amount), String(-amount)]));
  }

  async reset(key: string): Promise<void> {
    await this.client.del(this.keys.counter(key));
  }
}

function ttlMs(ttlSeconds: number | undefined): number {
  return ttlSeconds === undefined ? 0 : toMs(ttlSeconds);
}
