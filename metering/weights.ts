/**
 * Weights turn units of different kinds into one "weighted use", by which a subscriber's fee is
 * split among services. Admins set them (config `metering.weights`, or the admin API). Weighted use
 * is kept in millionths as a BigInt so the split is exact and reproducible.
 */
import type { UnitTotals } from './types.ts';

export interface UsageWeights {
  /** Per request. */
  requests: number;
  /** Per MiB received from clients. */
  bytesInPerMiB: number;
  /** Per MiB sent to clients. */
  bytesOutPerMiB: number;
  /** Per GiB stored for a day. */
  storageGiBDays: number;
  /** Per minute of a hosted meeting. */
  hostMinutes: number;
  /** Per participant minute. */
  participantMinutes: number;
}

export const DEFAULT_WEIGHTS: UsageWeights = { requests: 1, bytesInPerMiB: 1, bytesOutPerMiB: 1, storageGiBDays: 10, hostMinutes: 10, participantMinutes: 1 };

const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SCALE = 1_000_000;

/** Weighted use in millionths (an integer). */
export function weightedUse(units: UnitTotals, w: UsageWeights): bigint {
  const value =
    units.requests * w.requests +
    (units.bytesIn / MiB) * w.bytesInPerMiB +
    (units.bytesOut / MiB) * w.bytesOutPerMiB +
    (units.storageByteDays / GiB) * w.storageGiBDays +
    units.hostMinutes * w.hostMinutes +
    units.participantMinutes * w.participantMinutes;
  return BigInt(Math.round(value * SCALE));
}

/** For display: weighted use as a number with six decimals at most. */
export function weightedUseNumber(micro: bigint): number {
  return Number(micro) / SCALE;
}
