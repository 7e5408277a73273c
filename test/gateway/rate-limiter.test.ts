/** The shared rate limiter over a real store's counters, with a manual clock. */
import { describe, it, expect, afterAll } from '@jest/globals';
import { ManualClock } from '../../kernel/clock.ts';
import { createStores } from '../../store/index.ts';
import type { CounterStore, Stores } from '../../store/types.ts';
import { createSharedRateLimiter } from '../../gateway/rate-limiter.ts';

const opened: Stores[] = [];
afterAll(async () => {
  for (const s of opened) await s.close();
});

async function counters(): Promise<{ counters: CounterStore; calls: () => number }> {
  const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  opened.push(stores);
  let calls = 0;
  const counting: CounterStore = {
    ...stores.counters,
    increment: (key, by, ttl) => {
      calls++;
      return stores.counters.increment(key, by, ttl);
    },
  };
  return { counters: counting, calls: () => calls };
}

const consume = async (limiter: ReturnType<typeof createSharedRateLimiter>, key: string, points: number, duration = 60) => limiter.consume(key, { points, duration });

describe('shared rate limiter', () => {
  it('never lets two processes together pass the limit, even under concurrency', async () => {
    const { counters: shared } = await counters();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 1));
    const one = createSharedRateLimiter({ counters: shared, clock, maxBlock: 100 });
    const two = createSharedRateLimiter({ counters: shared, clock, maxBlock: 100 });
    const results = await Promise.all(Array.from({ length: 400 }, (_, i) => consume(i % 2 ? one : two, 'svc:u:ana', 200)));
    const allowed = results.filter((r) => r.allowed).length;
    expect(allowed).toBeLessThanOrEqual(200);
    // Blocks a process reserved but did not spend are lost to the other: at most the half block it
    // was spending and the block it reserved ahead, each.
    expect(allowed).toBeGreaterThanOrEqual(200 - 2 * 15);
  });

  it('counts exactly under small limits and says when to retry', async () => {
    const { counters: shared } = await counters();
    const clock = new ManualClock(Date.UTC(2026, 0, 1, 0, 0, 15));
    const limiter = createSharedRateLimiter({ counters: shared, clock, maxBlock: 100 });
    const results = [];
    for (let i = 0; i < 7; i++) results.push(await consume(limiter, 'k', 5));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, true, true, false, false]);
    expect(results[5]).toEqual({ allowed: false, retryAfterSeconds: 45 });
    clock.advance(45_000);
    expect((await consume(limiter, 'k', 5)).allowed).toBe(true);
  });

  it('costs one store round trip per block, not per request, for a busy key', async () => {
    const { counters: shared, calls } = await counters();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const limiter = createSharedRateLimiter({ counters: shared, clock, maxBlock: 100 });
    for (let i = 0; i < 1000; i++) expect((await consume(limiter, 'busy', 100000)).allowed).toBe(true);
    // Blocks 1, 2, 4 … 64, then 100 each: 7 + 9 round trips for 1000 requests.
    expect(calls()).toBeLessThanOrEqual(17);
  });

  it('reserves the next block ahead of need, so a steadily busy key does not wait for the store', async () => {
    const { counters: shared, calls } = await counters();
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const limiter = createSharedRateLimiter({ counters: shared, clock, maxBlock: 100 });
    for (let i = 0; i < 300; i++) await consume(limiter, 'steady', 100000); // blocks grow to 100
    let waited = 0;
    for (let i = 0; i < 1000; i++) {
      const result = limiter.consume('steady', { points: 100000, duration: 60 });
      if (result instanceof Promise) waited++;
      expect((await result).allowed).toBe(true);
      if (i % 10 === 0) await new Promise((resolve) => setImmediate(resolve)); // time for a round trip
    }
    expect(waited).toBe(0);
    expect(calls()).toBeLessThanOrEqual(7 + 3 + 12); // still a round trip per block of 100
  });

  it('rejects (fails closed) when the store is down', async () => {
    const clock = new ManualClock();
    const broken: CounterStore = {
      increment: () => Promise.reject(new Error('connection refused')),
      get: () => Promise.reject(new Error('x')),
      reserve: () => Promise.reject(new Error('x')),
      release: () => Promise.reject(new Error('x')),
      reset: () => Promise.reject(new Error('x')),
    };
    const limiter = createSharedRateLimiter({ counters: broken, clock, maxBlock: 10 });
    await expect(consume(limiter, 'k', 10)).rejects.toThrow('connection refused');
  });
});
