/**
 * StorageQuota: "does this many more bytes fit?", answered for every gateway process at once.
 *
 * usage = what the upstream stores (RFC 4331 `quota-used-bytes`, cached briefly in the shared KV
 *         store) + the bytes of uploads in flight (one reservation counter per holder, `reserve` is
 *         atomic in Redis and in SQLite).
 *
 * The cache is stamped with a generation number. A finished write bumps the generation BEFORE it
 * releases its reservation, and a reservation re-reads the generation AFTER it was granted: if it
 * moved, the usage is read again from the upstream and the reservation re-checked. So a process
 * that read usage just before another process's upload landed can never count those bytes as free:
 * either the other reservation was still held when ours was granted, or we see the new generation.
 */
import type { CounterStore, KeyValueStore } from '../../../store/types.ts';

export interface QuotaHolder {
  /** Store key of the account (or collective, for a pooled quota). */
  key: string;
  /** Limit in bytes. */
  limit: number;
}

export interface QuotaCheck {
  granted: boolean;
  /** Bytes stored upstream (as known for this check). */
  used: number;
  /** Bytes reserved by uploads in flight, this one included when granted. */
  inFlight: number;
}

export interface StorageQuotaOptions {
  counters: CounterStore;
  kv: KeyValueStore;
  /** How long a usage read from the upstream is trusted. */
  cacheSeconds: number;
  /** A reservation leaked by a crashed process disappears after this long (renewed by every new reservation). */
  reservationTtlSeconds: number;
}

interface Snapshot {
  used: number;
  gen: number;
}

export class StorageQuota {
  private readonly counters: CounterStore;
  private readonly kv: KeyValueStore;
  private readonly cacheSeconds: number;
  private readonly ttl: number;

  constructor(options: StorageQuotaOptions) {
    this.counters = options.counters;
    this.kv = options.kv;
    this.cacheSeconds = options.cacheSeconds;
    this.ttl = options.reservationTtlSeconds;
  }

  private keys(holder: QuotaHolder) {
    return { gen: `quota:gen:${holder.key}`, cache: `quota:used:${holder.key}`, held: `quota:held:${holder.key}` };
  }

  private async snapshot(holder: QuotaHolder, readUsed: () => Promise<number>, fresh = false): Promise<Snapshot> {
    const keys = this.keys(holder);
    const [gen, cached] = await Promise.all([this.counters.get(keys.gen), fresh ? undefined : this.kv.get(keys.cache)]);
    if (cached !== undefined) {
      const snap = JSON.parse(cached) as Snapshot;
      if (snap.gen === gen) return snap;
    }
    const used = await readUsed();
    const snap = { used, gen };
    await this.kv.set(keys.cache, JSON.stringify(snap), this.cacheSeconds);
    return snap;
  }

  /**
   * Reserves `amount` bytes if they fit. `credit` is subtracted from the stored usage (the size of
   * a file this upload replaces). `fresh` reads the usage from the upstream instead of the cache.
   */
  async reserve(holder: QuotaHolder, amount: number, readUsed: () => Promise<number>, credit = 0, fresh = false): Promise<QuotaCheck> {
    const keys = this.keys(holder);
    const snap = await this.snapshot(holder, readUsed, fresh);
    const result = await this.counters.reserve(keys.held, amount, holder.limit, Math.max(0, snap.used - credit), this.ttl);
    if (!result.granted) return { granted: false, used: snap.used, inFlight: result.total };
    const gen = await this.counters.get(keys.gen);
    if (gen !== snap.gen) {
      const now = await this.snapshot(holder, readUsed, true);
      if (Math.max(0, now.used - credit) + result.total > holder.limit) {
        await this.counters.release(keys.held, amount);
        return { granted: false, used: now.used, inFlight: result.total - amount };
      }
      return { granted: true, used: now.used, inFlight: result.total };
    }
    return { granted: true, used: snap.used, inFlight: result.total };
  }

  /** Gives reserved bytes back. After a write that reached the upstream, call `changed` first. */
  async release(holder: QuotaHolder, amount: number): Promise<void> {
    if (amount > 0) await this.counters.release(this.keys(holder).held, amount);
  }

  /** The upstream's usage changed (a write landed, a file was deleted): every process re-reads it. */
  async changed(holder: QuotaHolder): Promise<void> {
    await this.counters.increment(this.keys(holder).gen, 1);
  }

  /** Current usage as the quota sees it (for messages and the account page). */
  async usage(holder: QuotaHolder, readUsed: () => Promise<number>): Promise<{ used: number; inFlight: number }> {
    const [snap, inFlight] = await Promise.all([this.snapshot(holder, readUsed), this.counters.get(this.keys(holder).held)]);
    return { used: snap.used, inFlight };
  }
}
