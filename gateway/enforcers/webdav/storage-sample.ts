/**
 * The daily storage sample: what each account stores in Oficina goes to metering as byte-days
 * (1 GiB kept for a day = 2^30). Run once a day per account (a timer or the CLI); the record id
 * names the account and the day, so running twice the same day never counts twice.
 */
import type { Clock } from '../../../kernel/clock.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { silentLogger } from '../../../kernel/logger.ts';
import type { UsageInput } from '../../../metering/types.ts';

export interface StorageSampleOptions {
  service: string;
  /** Accounts to sample: the account id and its Nextcloud uid. */
  accounts: Array<{ subject: string; uid: string; collective?: string }>;
  usedBytes(uid: string): Promise<number>;
  recordUsage(usage: UsageInput): boolean;
  clock: Clock;
  logger?: Logger;
}

/** Returns how many accounts were sampled; one that fails is logged and skipped (the next day samples it again). */
export async function sampleStorage(options: StorageSampleOptions): Promise<number> {
  const logger = options.logger ?? silentLogger;
  const now = options.clock.now();
  const day = new Date(now).toISOString().slice(0, 10);
  let sampled = 0;
  for (const account of options.accounts) {
    try {
      const used = await options.usedBytes(account.uid);
      const accepted = options.recordUsage({
        id: `storage-${options.service}-${account.subject}-${day}`,
        time: now,
        subject: account.subject,
        collective: account.collective,
        service: options.service,
        kind: 'storage',
        units: { storageByteDays: used },
      });
      if (accepted) sampled += 1;
      else logger.error({ service: options.service }, 'storage sample could not be recorded');
    } catch (err) {
      logger.warn({ err, service: options.service }, 'storage sample: usage unavailable for an account');
    }
  }
  return sampled;
}
