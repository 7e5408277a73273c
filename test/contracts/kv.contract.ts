/** Contract of KeyValueStore; runs against every store implementation. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Stores } from '../../store/types.ts';

/** What each contract needs from an implementation under test. */
export interface StoreHarness {
  stores: Stores;
  /** Moves time forward by `ms`: a manual clock for embedded, a real wait for Redis. */
  advance(ms: number): Promise<void> | void;
  /** A second Stores over the same backend (another process, in effect). Absent: the same instance is used. */
  makePeer?: () => Promise<Stores>;
  cleanup(): Promise<void>;
}
export type MakeStores = () => Promise<StoreHarness>;

/** A key no other test uses, so one store can serve a whole suite. */
export const unique = (label: string) => `${label}:${randomUUID()}`;

export function runKeyValueContract(name: string, makeStores: MakeStores): void {
  describe(`KeyValueStore contract: ${name}`, () => {
    let h: StoreHarness;
    beforeAll(async () => {
      h = await makeStores();
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it('answers ping while open', async () => {
      await expect(h.stores.ping()).resolves.toBeUndefined();
    });

    it('reports unavailable (503) once closed, and closing twice is harmless', async () => {
      const own = await makeStores();
      await own.stores.kv.set(unique('kv'), 'v');
      await own.stores.close();
      await expect(own.stores.ping()).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
      await expect(own.stores.kv.get(unique('kv'))).rejects.toMatchObject({ status: 503, code: 'store_unavailable' });
      await own.cleanup(); // closes again
    });

    it('gets what was set, and undefined for a missing key', async () => {
      const key = unique('kv');
      expect(await h.stores.kv.get(key)).toBeUndefined();
      await h.stores.kv.set(key, 'one');
      expect(await h.stores.kv.get(key)).toBe('one');
      await h.stores.kv.set(key, 'two');
      expect(await h.stores.kv.get(key)).toBe('two');
    });

    it('keeps values byte for byte (unicode, JSON, empty string)', async () => {
      const key = unique('kv');
      const value = JSON.stringify({ name: 'Núria Puig ✓', nested: { a: [1, 2] } });
      await h.stores.kv.set(key, value);
      expect(await h.stores.kv.get(key)).toBe(value);
      await h.stores.kv.set(key, '');
      expect(await h.stores.kv.get(key)).toBe('');
    });

    it('reports ttl: undefined when absent, Infinity without expiry, seconds left with expiry', async () => {
      const key = unique('kv');
      expect(await h.stores.kv.ttl(key)).toBeUndefined();
      await h.stores.kv.set(key, 'v');
      expect(await h.stores.kv.ttl(key)).toBe(Infinity);
      await h.stores.kv.set(key, 'v', 120);
      const left = await h.stores.kv.ttl(key);
      expect(left).toBeGreaterThanOrEqual(119);
      expect(left).toBeLessThanOrEqual(120);
      // A plain set replaces the value and its expiry.
      await h.stores.kv.set(key, 'w');
      expect(await h.stores.kv.ttl(key)).toBe(Infinity);
    });

    it('setIfAbsent stores only the first time', async () => {
      const key = unique('kv');
      expect(await h.stores.kv.setIfAbsent(key, 'first', 60)).toBe(true);
      expect(await h.stores.kv.setIfAbsent(key, 'second', 60)).toBe(false);
      expect(await h.stores.kv.get(key)).toBe('first');
      expect(await h.stores.kv.ttl(key)).toBeGreaterThan(0);
    });

    it('setIfAbsent lets exactly one of many concurrent callers win', async () => {
      const key = unique('kv');
      const results = await Promise.all(Array.from({ length: 25 }, (_, i) => h.stores.kv.setIfAbsent(key, `caller-${i}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await h.stores.kv.get(key)).toBe(`caller-${results.indexOf(true)}`);
    });

    it('take returns the value once and deletes it', async () => {
      const key = unique('kv');
      await h.stores.kv.set(key, 'code', 60);
      expect(await h.stores.kv.take(key)).toBe('code');
      expect(await h.stores.kv.take(key)).toBeUndefined();
      expect(await h.stores.kv.get(key)).toBeUndefined();
      expect(await h.stores.kv.take(unique('never-set'))).toBeUndefined();
    });

    it('take is single-use under concurrency', async () => {
      const key = unique('kv');
      await h.stores.kv.set(key, 'authorization-code');
      const results = await Promise.all(Array.from({ length: 25 }, () => h.stores.kv.take(key)));
      expect(results.filter((r) => r === 'authorization-code')).toHaveLength(1);
      expect(results.filter((r) => r === undefined)).toHaveLength(24);
    });

    it('delete removes several keys and ignores missing ones', async () => {
      const [a, b, c, set] = [unique('kv'), unique('kv'), unique('kv'), unique('kv')];
      await h.stores.kv.set(a, '1');
      await h.stores.kv.set(b, '2');
      await h.stores.kv.set(c, '3');
      await h.stores.kv.addToSet(set, 'm');
      await h.stores.kv.delete(a, b, set, unique('missing'));
      await h.stores.kv.delete();
      expect(await h.stores.kv.get(a)).toBeUndefined();
      expect(await h.stores.kv.get(b)).toBeUndefined();
      expect(await h.stores.kv.setMembers(set)).toEqual([]);
      expect(await h.stores.kv.get(c)).toBe('3');
    });

    it('addToSet keeps each member once; setMembers is empty for a missing key', async () => {
      const key = unique('set');
      expect(await h.stores.kv.setMembers(key)).toEqual([]);
      await h.stores.kv.addToSet(key, 'grant-b');
      await h.stores.kv.addToSet(key, 'grant-a');
      await h.stores.kv.addToSet(key, 'grant-b');
      expect((await h.stores.kv.setMembers(key)).sort()).toEqual(['grant-a', 'grant-b']);
      expect(await h.stores.kv.ttl(key)).toBe(Infinity);
    });

    it("addToSet only ever lengthens the set's ttl", async () => {
      const key = unique('set');
      await h.stores.kv.addToSet(key, 'a', 100);
      await h.stores.kv.addToSet(key, 'b', 10);
      expect(await h.stores.kv.ttl(key)).toBeGreaterThanOrEqual(99);
      expect(await h.stores.kv.ttl(key)).toBeLessThanOrEqual(100);
      await h.stores.kv.addToSet(key, 'c', 1000);
      expect(await h.stores.kv.ttl(key)).toBeGreaterThanOrEqual(999);
      await h.stores.kv.addToSet(key, 'd');
      expect(await h.stores.kv.ttl(key)).toBeGreaterThanOrEqual(999);
      expect((await h.stores.kv.setMembers(key)).sort()).toEqual(['a', 'b', 'c', 'd']);
    });

    it('rejects a ttl that is not a positive number', async () => {
      await expect(h.stores.kv.set(unique('kv'), 'v', 0)).rejects.toThrow(/ttlSeconds/);
      await expect(h.stores.kv.set(unique('kv'), 'v', -5)).rejects.toThrow(/ttlSeconds/);
    });

    it('forgets keys when their ttl runs out', async () => {
      const [plain, once, set, forever, taken] = [unique('kv'), unique('kv'), unique('set'), unique('kv'), unique('kv')];
      await h.stores.kv.set(plain, 'v', 1);
      await h.stores.kv.setIfAbsent(once, 'old', 1);
      await h.stores.kv.addToSet(set, 'm', 1);
      await h.stores.kv.set(forever, 'v');
      await h.stores.kv.set(taken, 'v', 1);
      await h.advance(1100);
      expect(await h.stores.kv.get(plain)).toBeUndefined();
      expect(await h.stores.kv.ttl(plain)).toBeUndefined();
      expect(await h.stores.kv.take(taken)).toBeUndefined();
      expect(await h.stores.kv.setMembers(set)).toEqual([]);
      expect(await h.stores.kv.setIfAbsent(once, 'new')).toBe(true);
      expect(await h.stores.kv.get(once)).toBe('new');
      expect(await h.stores.kv.ttl(once)).toBe(Infinity);
      expect(await h.stores.kv.get(forever)).toBe('v');
      // A set re-created after expiry starts empty with the new ttl.
      await h.stores.kv.addToSet(set, 'n', 50);
      expect(await h.stores.kv.setMembers(set)).toEqual(['n']);
      expect(await h.stores.kv.ttl(set)).toBeLessThanOrEqual(50);
    });
  });
}
