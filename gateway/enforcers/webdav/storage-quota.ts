/**
 * StorageQuota: "does this many more bytes fit?", answered for every gateway process at once.
 *
 * usage = what the upstream stores (RFC 4331 `quota-used-bytes`, cached briefly in the shared KV
 *         store) + bytes that landed through the gateway since that figure was read (a shared
 *         counter) + the bytes of uploads in flight (one reservation counter per holder; `reserve`
 *         is atomic in Redis and in SQLite).
 *
 * A cached figure remembers the `landed` counter as it was just BEFORE the upstream was asked. A
 * write that reached the upstream adds its bytes to `landed` BEFORE it releases its reservation,
 * and a reservation reads `landed` again AFTER it was granted and re-checks if it moved. So a
 * process can never count as free the bytes another process just stored: either that upload's
 * reservation was still held when ours was granted, or its bytes are in `landed`. Bytes counted
 * twice (landed while the upstream was being asked, or an overwrite counted at full size) only err
 * on the safe side until the cache is read again. Deletes drop the cached figure.
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

interface Cached {
  used: number;
  /** `landed` when the upstream was asked. */
  landed: number;
}

interface Snapshot {
  /** Upstream usage plus what landed since it was read. */
  used: number;
  landed: number;
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
    return { landed: `quota:landed:${holder.key}`, cache: `quota:used:${holder.key}`, held: `quota:held:${holder.key}` };
  }

  private async snapshot(holder: QuotaHolder, readUsed: () => Promise<number>, fresh = false): Promise<Snapshot> {
    const keys = this.keys(holder);
    const [landed, cached] = await Promise.all([this.counters.get(keys.landed), fresh ? undefined : this.kv.get(keys.cache)]);
    if (cached !== undefined) {
      const c = JSON.parse(cached) as Cached;
      return { used: c.used + Math.max(0, landed - c.landed), landed };
    }
    const used = await readUsed();
    await this.kv.set(keys.cache, JSON.stringify({ used, landed } satisfies Cached), this.cacheSeconds);
    return { used, landed };
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
    const landed = await this.counters.get(keys.landed);
    if (landed !== snap.landed) {
      const used = snap.used + (landed - snap.landed);
      if (Math.max(0, used - credit) + result.total > holder.limit) {
        await this.counters.release(keys.held, amount);
        return { granted: false, used, inFlight: result.total - amount };
      }
      return { granted: true, used, inFlight: result.total };
    }
    return { granted: true, used: snap.used, inFlight: result.total };
  }

  /** Gives reserved bytes back. After a write that reached the upstream, call `landed` first. */
  async release(holder: QuotaHolder, amount: number): Promise<void> {
    if (amount > 0) await this.counters.release(this.keys(holder).held, amount);
  }

  /** A write of (at most) `bytes` reached the upstream. */
  async landed(holder: QuotaHolder, bytes: number): Promise<void> {
    if (bytes > 0) await this.counters.increment(this.keys(holder).landed, bytes);
  }

  /** The upstream's usage changed in a way the gateway cannot size (a delete): read it again. */
  async changed(holder: QuotaHolder): Promise<void> {
    await this.kv.delete(this.keys(holder).cache);
  }

  /** Current usage as the quota sees it (for messages and the account page). */
  async usage(holder: QuotaHolder, readUsed: () => Promise<number>): Promise<{ used: number; inFlight: number }> {
    const [snap, inFlight] = await Promise.all([this.snapshot(holder, readUsed), this.counters.get(this.keys(holder).held)]);
    return { used: snap.used, inFlight };
  }
}
