/**
 * Retention: raw usage records older than `retentionDays` (counted in whole UTC days) are deleted;
 * their daily and monthly aggregates are computed first and kept for good. The order matters for a
 * crash halfway: aggregate, then mark the days final, then delete.
 */
import type { Clock } from '../kernel/clock.ts';
import { aggregateMonth, retentionMeta, setRetentionMeta, type AggregateDeps } from './aggregate.ts';
import { DAY_MS, daysBetween, startOfDay } from './period.ts';
import { USAGE_STREAM } from './types.ts';

export interface RetentionResult {
  /** Raw records before this instant are gone. */
  cutoff: number;
  deleted: number;
  daysAggregated: number;
}

export async function applyRetention(deps: AggregateDeps & { clock: Clock; retentionDays: number }): Promise<RetentionResult> {
  const stream = deps.stream ?? USAGE_STREAM;
  const cutoff = startOfDay(deps.clock.now()) - deps.retentionDays * DAY_MS;
  const { deletedBefore } = await retentionMeta(deps.documents);
  if (cutoff <= deletedBefore) return { cutoff: deletedBefore, deleted: 0, daysAggregated: 0 };

  // The first raw record before the cutoff tells where to start; none means there is nothing to keep.
  let first: number | undefined;
  for await (const entry of deps.ledger.range(stream, deletedBefore, cutoff)) {
    first = entry.time;
    break;
  }
  let daysAggregated = 0;
  if (first !== undefined) {
    // Aggregating a month aggregates each of its days, so the days about to become final are stored.
    const days = daysBetween(first, cutoff);
    for (const period of new Set(days.map((day) => day.slice(0, 7)))) await aggregateMonth(deps, period);
    daysAggregated = days.length;
  }
  await setRetentionMeta(deps.documents, { deletedBefore: cutoff });
  const deleted = await deps.ledger.deleteBefore(stream, cutoff);
  return { cutoff, deleted, daysAggregated };
}
