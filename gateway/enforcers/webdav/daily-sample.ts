/**
 * Runs the storage sample (storage-sample.ts) once a day per `webdav` service with OCS credentials.
 * Every gateway process ticks; the first to take the day's lock (`setIfAbsent` with a TTL longer
 * than a day) samples, the others skip. A process that dies mid-sample leaves the day unsampled
 * for the accounts it had not reached (the ledger ids make a rerun safe, but nothing reruns); when
 * the account list cannot be read, the lock is given back so the next tick tries again.
 */
import type { KeyValueStore } from '../../../store/types.ts';
import type { Clock } from '../../../kernel/clock.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { UsageInput } from '../../../metering/types.ts';
import { sampleStorage } from './storage-sample.ts';

export interface DailySampleOptions {
  services: Array<{ id: string; usedBytes(uid: string): Promise<number> }>;
  kv: KeyValueStore;
  /** Accounts to sample (the Nextcloud uid is the account id). */
  accounts(): Promise<Array<{ subject: string; collective?: string }>>;
  recordUsage(usage: UsageInput): boolean;
  clock: Clock;
  logger: Logger;
}

/** Samples every service not yet sampled today; returns how many accounts each sampled (absent: another process has the day). */
export async function runDailySample(options: DailySampleOptions): Promise<Record<string, number>> {
  const day = new Date(options.clock.now()).toISOString().slice(0, 10);
  const done: Record<string, number> = {};
  let accounts: Array<{ subject: string; collective?: string }> | undefined;
  for (const service of options.services) {
    const lock = `storage-sample:${service.id}:${day}`;
    if (!(await options.kv.setIfAbsent(lock, String(options.clock.now()), 36 * 3600))) continue;
    try {
      accounts ??= await options.accounts();
    } catch (error) {
      // Without the account list nothing was sampled: give the day back to the next tick.
      await options.kv.delete(lock).catch(() => undefined);
      throw error;
    }
    done[service.id] = await sampleStorage({
      service: service.id,
      accounts: accounts.map((a) => ({ ...a, uid: a.subject })),
      usedBytes: (uid) => service.usedBytes(uid),
      recordUsage: options.recordUsage,
      clock: options.clock,
      logger: options.logger,
    });
  }
  return done;
}

/** Ticks every `everyMs` (default an hour; the lock makes it once a day); unref'd. Returns the stop function. */
export function scheduleDailySample(options: DailySampleOptions, everyMs = 3_600_000): () => void {
  if (options.services.length === 0) return () => undefined;
  const tick = () => {
    runDailySample(options).catch((err: unknown) => options.logger.error({ err }, 'daily storage sample failed; the next tick tries again'));
  };
  const timer = setInterval(tick, everyMs);
  timer.unref();
  const first = setTimeout(tick, 60_000);
  first.unref();
  return () => {
    clearInterval(timer);
    clearTimeout(first);
  };
}
