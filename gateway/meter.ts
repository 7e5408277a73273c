/**
 * A usage record per proxied request, handed to metering when the response ends, off the hot
 * path (metering counts equal requests together and batches them; metering/tally.ts). When
 * metering says it can neither buffer nor journal a record, the gateway refuses billable traffic
 * for a few seconds (503) instead of serving it unrecorded.
 */
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import type { GatewayUsageRecord } from './types.ts';
import type { RequestScope } from './scope.ts';

const REFUSE_FOR_MS = 5_000;

export interface Meter {
  record(scope: RequestScope): void;
  /** False while metering cannot take records. */
  accepting(): boolean;
}

export function createMeter<Identity>(options: {
  recordUsage?: (record: GatewayUsageRecord) => boolean;
  collectiveOf?: (identity: Identity, service: NonNullable<RequestScope['service']>) => string | undefined;
  clock: Clock;
  logger: Logger;
}): Meter {
  const { recordUsage, collectiveOf, clock, logger } = options;
  let refuseUntil = 0;
  return {
    accepting: () => refuseUntil <= clock.now(),
    record(scope) {
      if (!recordUsage || !scope.service) return;
      const now = clock.now();
      const principal = scope.principal;
      const record: GatewayUsageRecord = {
        time: scope.startedAt,
        subject: principal?.subject ?? 'anonymous',
        service: scope.service.id,
        kind: 'request',
        units: { requests: 1, bytesIn: scope.bytesIn, bytesOut: scope.bytesOut },
        // The route matched (its path prefix), never the raw path: what billing needs, no more.
        routeClass: scope.service.pathPrefix,
        method: scope.method,
        status: scope.status,
        durationMs: now - scope.startedAt,
      };
      const collective = principal && collectiveOf ? collectiveOf(principal.identity as Identity, scope.service) : undefined;
      if (collective) record.collective = collective;
      let kept: boolean;
      try {
        kept = recordUsage(record);
      } catch (err) {
        // Called from the response's `close` listener: a throw here would end the whole process.
        logger.error({ err, service: record.service }, 'a usage record could not be made');
        kept = false;
      }
      if (!kept) {
        refuseUntil = now + REFUSE_FOR_MS;
        logger.error({ service: record.service }, 'metering refused a usage record; refusing billable traffic for a moment');
      }
    },
  };
}
