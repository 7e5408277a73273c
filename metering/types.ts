/**
 * Usage records: what billing needs (who, which service, how much), nothing more. A record never
 * holds an IP address, a query string or request content; a path is reduced to a route class by the
 * gateway before it gets here.
 */

export type UsageKind = 'request' | 'storage' | 'meeting';

/** The amounts one record counts. Every unit is optional; absent means zero. */
export interface UsageUnits {
  requests?: number;
  bytesIn?: number;
  bytesOut?: number;
  /** Bytes stored multiplied by days (1 GiB kept for a day = 2^30). */
  storageByteDays?: number;
  /** Minutes of meetings hosted. */
  hostMinutes?: number;
  /** Minutes spent in meetings by participants. */
  participantMinutes?: number;
}

export const UNIT_KINDS = ['requests', 'bytesIn', 'bytesOut', 'storageByteDays', 'hostMinutes', 'participantMinutes'] as const;
export type UnitKind = (typeof UNIT_KINDS)[number];

export interface UsageRecord {
  /** Unique (a UUID, or a per-process prefix and counter: kernel/ids.ts); the ledger skips an id it already holds, so a retried write never counts twice. */
  id: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** Account id, or an anonymous id (a visitor, or a deleted account). */
  subject: string;
  /** The collective the use is billed to (a collective's dedicated service), if any. */
  collective?: string;
  service: string;
  kind: UsageKind;
  units: UsageUnits;
  /** The route class the gateway matched (`/remote.php/dav`), never the raw path. */
  routeClass?: string;
  method?: string;
  status?: number;
  /** Milliseconds, the total of the requests the record counts (`units.requests`; equal requests are counted together, metering/tally.ts). */
  durationMs?: number;
}

/** What a producer hands to the recorder; the recorder gives it an id and a time when absent. */
export type UsageInput = Omit<UsageRecord, 'id' | 'time'> & { id?: string; time?: number };

/** The ledger stream that holds usage records. */
export const USAGE_STREAM = 'usage';

/** Sums of units, as stored in aggregates and reports. Every unit is present. */
export type UnitTotals = Record<UnitKind, number>;

export function emptyTotals(): UnitTotals {
  return { requests: 0, bytesIn: 0, bytesOut: 0, storageByteDays: 0, hostMinutes: 0, participantMinutes: 0 };
}

export function addUnits(into: UnitTotals, units: UsageUnits | UnitTotals): void {
  for (const kind of UNIT_KINDS) {
    const value = units[kind];
    if (typeof value === 'number' && Number.isFinite(value)) into[kind] += value;
  }
}
