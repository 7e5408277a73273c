/**
 * Metering wired from the configuration: the recorder the gateway hands usage records to, reporting
 * for the admin API and the CLI, and retention on a timer. `close()` on SIGTERM flushes what waits.
 */
import { normalize, resolve } from 'node:path';
import type { Registry } from 'prom-client';
import type { PortaConfig } from '../config/schema/index.ts';
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Stores } from '../store/types.ts';
import type { FeeSchedule } from './fees.ts';
import { openJournal } from './journal.ts';
import { createUsageRecorder, type UsageRecorder } from './recorder.ts';
import { createReporting, type Reporting } from './reports.ts';
import { applyRetention, type RetentionResult } from './retention.ts';

export type { UsageRecord, UsageInput } from './types.ts';
export { usageRoutes } from './admin-routes.ts';
import { anonymiseSubject } from './anonymise.ts';

export { anonymiseSubject };
export { feeScheduleFrom } from './schedule.ts';

export interface Metering {
  recorder: UsageRecorder;
  reporting: Reporting;
  /** Deletes raw records past `metering.retentionDays` (aggregating them first). Also runs every `retentionEveryMs`. */
  applyRetention(): Promise<RetentionResult>;
  /**
   * After an account is deleted: its usage is reported under `anonymousId` from now on (call with the
   * `DeletedAccount` that `AccountFlows.deleteAccount` returns).
   */
  anonymiseSubject(accountId: string, anonymousId: string): Promise<{ aggregatesRewritten: number }>;
  /** Flushes the recorder and stops the retention timer. */
  close(): Promise<void>;
}

export interface MeteringOptions {
  config: Pick<PortaConfig, 'metering'> & { dataDir?: string };
  stores: Pick<Stores, 'ledger' | 'documents'>;
  /** Plans, extra block and subscriptions (see `feeScheduleFrom`). */
  schedule: () => Promise<FeeSchedule>;
  logger: Logger;
  clock?: Clock;
  metrics?: Registry;
  /** How often retention runs; 0 = never on its own (default: every 6 hours). */
  retentionEveryMs?: number;
}

const DEFAULT_JOURNAL = './data/usage-journal';

/** `metering.journalPath` as configured; left at its default it follows `dataDir`, like the embedded store. */
export function journalPath(config: MeteringOptions['config']): string {
  const configured = config.metering.journalPath;
  if (config.dataDir && normalize(configured) === normalize(DEFAULT_JOURNAL)) return resolve(config.dataDir, 'usage-journal');
  return resolve(configured);
}

export function createMetering(options: MeteringOptions): Metering {
  const { config, stores, logger } = options;
  const clock = options.clock ?? systemClock;
  const m = config.metering;
  const recorder = createUsageRecorder({
    ledger: stores.ledger,
    journal: openJournal(journalPath(config), logger),
    clock,
    logger,
    metrics: options.metrics,
    flushIntervalMs: m.flushIntervalMs,
    flushBatchSize: m.flushBatchSize,
    bufferLimit: m.bufferLimit,
  });
  const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: options.schedule, weights: m.weights });
  const retention = () => applyRetention({ ledger: stores.ledger, documents: stores.documents, subjects: reporting.subjects, clock, retentionDays: m.retentionDays });

  const every = options.retentionEveryMs ?? 6 * 3_600_000;
  const timer =
    every > 0
      ? setInterval(() => {
          retention().then(
            (r) => r.deleted > 0 && logger.info(r, 'usage retention deleted raw records (aggregates kept)'),
            (err: unknown) => logger.error({ err }, 'usage retention failed; it runs again later'),
          );
        }, every)
      : undefined;
  timer?.unref();

  return {
    recorder,
    reporting,
    applyRetention: retention,
    anonymiseSubject: (accountId, anonymousId) => anonymiseSubject(stores.documents, accountId, anonymousId),
    async close() {
      if (timer) clearInterval(timer);
      await recorder.close();
    },
  };
}
