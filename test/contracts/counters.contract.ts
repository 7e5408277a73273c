/** Contract of CounterStore; runs against every store implementation. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { unique, type MakeStores, type StoreHarness } from './kv.contract.ts';

export function runCountersContract(name: string, makeStores: MakeStores): void {
  describe(`CounterStore contract: ${name}`, () => {
    let h: StoreHarness;
    beforeAll(async () => {
      h = await makeStores();
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it('starts at zero and adds positive and negative amounts', async () => {
      const key = unique('ctr');
      expect(await h.stores.counters.get(key)).toBe(0);
      expect(await h.stores.counters.increment(key, 5)).toBe(5);
      expect(await h.stores.counters.increment(key, -2)).toBe(3);
      expect(await h.stores.counters.get(key)).toBe(3);
    });

    it('counts every one of many concurrent increments', async () => {
      const key = unique('ctr');
      await Promise.all(Array.from({ length: 50 }, () => h.stores.counters.increment(key, 1, 60)));
      expect(await h.stores.counters.get(key)).toBe(50);
    });

    it('grants a reservation that fits, refuses one that does not, and counts base', async () => {
      const key = unique('quota');
      expect(await h.stores.counters.reserve(key, 40, 100)).toEqual({ granted: true, total: 40 });
      expect(await h.stores.counters.reserve(key, 60, 100)).toEqual({ granted: true, total: 100 }); // exactly at the limit
      expect(await h.stores.counters.reserve(key, 1, 100)).toEqual({ granted: false, total: 100 });
      const other = unique('quota');
      // 70 bytes already stored upstream: only 30 more fit.
      expect(await h.stores.counters.reserve(other, 31, 100, 70)).toEqual({ granted: false, total: 0 });
      expect(await h.stores.counters.reserve(other, 30, 100, 70)).toEqual({ granted: true, total: 30 });
      expect(await h.stores.counters.get(other)).toBe(30);
    });

    it('never lets concurrent reservations pass the limit together', async () => {
      const key = unique('quota');
      const results = await Promise.all(Array.from({ length: 50 }, () => h.stores.counters.reserve(key, 10, 100, 0, 300)));
      expect(results.filter((r) => r.granted)).toHaveLength(10);
      expect(results.filter((r) => !r.granted).every((r) => r.total === 100)).toBe(true);
      expect(await h.stores.counters.get(key)).toBe(100);
    });

    it('release gives back and never goes below zero', async () => {
      const key = unique('quota');
      await h.stores.counters.reserve(key, 50, 100);
      expect(await h.stores.counters.release(key, 20)).toBe(30);
      expect(await h.stores.counters.release(key, 100)).toBe(0);
      expect(await h.stores.counters.get(key)).toBe(0);
      expect(await h.stores.counters.release(unique('never'), 5)).toBe(0);
      expect(await h.stores.counters.reserve(key, 100, 100)).toEqual({ granted: true, total: 100 });
    });

    it('reset brings a counter back to zero', async () => {
      const key = unique('ctr');
      await h.stores.counters.increment(key, 7);
      await h.stores.counters.reset(key);
      expect(await h.stores.counters.get(key)).toBe(0);
      expect(await h.stores.counters.increment(key, 1)).toBe(1);
    });

    it('rejects amounts that are not finite numbers', async () => {
      await expect(h.stores.counters.increment(unique('ctr'), Number.NaN)).rejects.toThrow(/by/);
      await expect(h.stores.counters.reserve(unique('ctr'), Infinity, 10)).rejects.toThrow(/amount/);
    });

    it('expires counters ttl seconds after creation, not after the last increment', async () => {
      const window = unique('rl');
      const quota = unique('quota');
      const forever = unique('ctr');
      await h.stores.counters.increment(window, 1, 1);
      await h.stores.counters.increment(window, 1, 1000); // does not extend the window
      await h.stores.counters.reserve(quota, 5, 10, 0, 1);
      await h.stores.counters.increment(forever, 2);
      await h.advance(1100);
      expect(await h.stores.counters.get(window)).toBe(0);
      expect(await h.stores.counters.get(quota)).toBe(0);
      expect(await h.stores.counters.get(forever)).toBe(2);
      // A new window starts from the amount, as a fresh key.
      expect(await h.stores.counters.increment(window, 3, 60)).toBe(3);
      expect(await h.stores.counters.reserve(quota, 10, 10)).toEqual({ granted: true, total: 10 });
    });
  });
}
