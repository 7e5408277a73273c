/**
 * `porta report --period YYYY-MM [--format json|csv] [--out file]`: the billing report of a month,
 * computed from the ledger, plans and subscriptions in the configured store.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { PortaConfig } from '../config/schema/index.ts';
import { AppError } from '../kernel/errors.ts';
import { PolicyStore } from '../policies/policy-store.ts';
import { SubscriptionStore } from '../policies/subscription-store.ts';
import { createStores } from '../store/index.ts';
import { parsePeriod } from './period.ts';
import { formatReport, type ReportFormat } from './report-format.ts';
import { createReporting, type Reporting } from './reports.ts';
import { feeScheduleFrom } from './schedule.ts';

/** The report of `period` as text in `format`. */
export async function report(period: string, format: ReportFormat, deps: { reporting: Reporting }): Promise<string> {
  return formatReport(await deps.reporting.billingReport(parsePeriod(period).id), format);
}

export interface CliIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** Runs the command; returns the exit code (0 done, 1 failed, 2 bad usage). */
export async function runReportCommand(args: string[], config: PortaConfig, io: CliIo = process): Promise<number> {
  let values: { period?: string; format?: string; out?: string };
  try {
    ({ values } = parseArgs({ args, options: { period: { type: 'string' }, format: { type: 'string', default: 'json' }, out: { type: 'string' } }, strict: true }));
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\nUsage: porta report --period YYYY-MM [--format json|csv] [--out file]\n`);
    return 2;
  }
  if (values.period === undefined || !/^\d{4}-(0[1-9]|1[0-2])$/.test(values.period)) {
    io.stderr.write('--period must be a month written YYYY-MM, e.g. --period 2026-03.\n');
    return 2;
  }
  if (values.format !== 'json' && values.format !== 'csv') {
    io.stderr.write(`--format must be json or csv (got "${values.format}").\n`);
    return 2;
  }
  const stores = await createStores({ ...config.store, dataDir: config.dataDir });
  let policies: PolicyStore | undefined;
  try {
    policies = await PolicyStore.open({ stores, initialFile: config.policiesFile, pollMs: 0 });
    const active = policies;
    const subscriptions = new SubscriptionStore({ stores, policy: () => active.current().compiled.document });
    const reporting = createReporting({ ledger: stores.ledger, documents: stores.documents, schedule: feeScheduleFrom({ policy: () => active.current().compiled.document, subscriptions }), weights: config.metering.weights });
    const text = await report(values.period, values.format, { reporting });
    if (values.out) {
      writeFileSync(values.out, text);
      io.stderr.write(`Report for ${values.period} written to ${values.out}.\n`);
    } else {
      io.stdout.write(text);
    }
    return 0;
  } catch (error) {
    io.stderr.write(`The report could not be made: ${error instanceof AppError ? error.message : (error as Error).message}\n`);
    return 1;
  } finally {
    await policies?.close();
    await stores.close();
  }
}
