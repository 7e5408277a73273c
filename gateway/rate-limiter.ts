/**
 * A rate limiter shared by every gateway process through the store's `CounterStore`, without a
 * store round trip on every request.
 *
 * Each process reserves points from the shared counter of the current window in blocks and spends
 * them locally. The first block of a key in a window is 1 point; each further block doubles, up to
 * `maxBlock` and to 1/20 of the limit. So a key under a small limit is counted exactly across
 * processes (block 1), and a busy key costs one round trip per block, not per request. The next block
 * (of 8 points or more) is reserved in the background while half of the current one is left, so a
 * steadily busy key never waits for the store at all.
 *
 * The trade-off, accepted: points a process reserved but did not spend are lost to the others for
 * the rest of the window, so a key can be refused slightly early (by at most about 1.5 blocks per
 * process, the one being spent and the one reserved ahead), never late: the shared total never
 * passes the limit. Windows are fixed (a client can use the limit at the end of one window and
 * again at the start of the next).
 * When the store is unreachable the limiter rejects (the caller fails closed with 503).
 */
import type { CounterStore } from '../store/types.ts';
import type { Clock } from '../kernel/clock.ts';
import type { RateLimit } from './types.ts';

/** Blocks this large or larger get their successor reserved ahead of need. */
const AHEAD_FROM_BLOCK = 8;

export type RateLimitResult = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface KeyState {
  window: number;
  /** Points reserved from the store and not yet spent. */
  local: number;
  nextBlock: number;
  /** Size of the last block granted, for reserving the next one ahead of need. */
  lastBlock: number;
  /** The store said the window is full. */
  exhausted: boolean;
  pending?: Promise<void>;
}

export interface SharedRateLimiter {
  consume(key: string, limit: RateLimit): RateLimitResult | Promise<RateLimitResult>;
}

export function createSharedRateLimiter(options: { counters: CounterStore; clock: Clock; maxBlock: number; maxKeys?: number }): SharedRateLimiter {
  const { counters, clock, maxBlock } = options;
  const maxKeys = options.maxKeys ?? 100_000;
  const states = new Map<string, KeyState>();

  const allowed: RateLimitResult = { allowed: true };
  const refused = (window: number, durationMs: number): RateLimitResult => ({
    allowed: false,
    retryAfterSeconds: Math.max(1, Math.ceil(((window + 1) * durationMs - clock.now()) / 1000)),
  });

  async function reserve(key: string, state: KeyState, limit: RateLimit): Promise<void> {
    const block = state.nextBlock;
    const total = await counters.increment(`rl:${key}:${state.window}`, block, limit.duration + 1);
    const granted = Math.max(0, Math.min(block, limit.points - (total - block)));
    state.local += granted;
    state.lastBlock = granted;
    if (granted < block) state.exhausted = true;
    const cap = Math.max(1, Math.min(maxBlock, Math.floor(limit.points / 20)));
    state.nextBlock = Math.min(cap, block * 2);
  }

  /** One reservation in flight per key; `pending` says so until it settles. */
  function startReservation(key: string, state: KeyState, limit: RateLimit): Promise<void> {
    const pending = reserve(key, state, limit).finally(() => {
      state.pending = undefined;
    });
    state.pending = pending;
    return pending;
  }

  function consume(key: string, limit: RateLimit): RateLimitResult | Promise<RateLimitResult> {
    const durationMs = limit.duration * 1000;
    const window = Math.floor(clock.now() / durationMs);
    let state = states.get(key);
    if (!state || state.window !== window) {
      if (!state && states.size >= maxKeys) states.delete(states.keys().next().value as string);
      state = { window, local: 0, nextBlock: 1, lastBlock: 0, exhausted: false };
      states.set(key, state);
    }
    if (state.local > 0) {
      state.local--;
      // Reserve the next block while half of this one is left, so busy keys never wait for the store
      // (not for small blocks: small limits stay exact across processes).
      if (state.lastBlock >= AHEAD_FROM_BLOCK && state.local < state.lastBlock / 2 && !state.exhausted && !state.pending) {
        // The store is away: the request that runs out of points finds out (503).
        startReservation(key, state, limit).catch(() => undefined);
      }
      return allowed;
    }
    if (state.exhausted) return refused(window, durationMs);
    // Concurrent requests of one key wait for one reservation instead of each making their own.
    return (state.pending ?? startReservation(key, state, limit)).then(() => consume(key, limit));
  }

  return { consume };
}
