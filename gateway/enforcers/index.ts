/**
 * The service enforcers of a configuration, ready for `createGateway({ enforcers })`: one storage
 * quota enforcer per `webdav` service, one meetings enforcer per `bbb` service, dispatched by the
 * scope's service id (the gateway picks enforcers by kind; two Oficinas are two services of one kind).
 * `sweep()` runs every meetings sweeper; call it periodically (every minute).
 */
import type { ServiceConfig } from '../types.ts';
import type { RequestScope } from '../scope.ts';
import type { Enforcer, Enforcers } from '../steps/enforce.ts';
import type { Stores } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';
import type { UsageInput } from '../../metering/types.ts';
import { asGatewayEnforcer, EnforcerRefusal } from './gateway-adapter.ts';
import { createStorageQuotaEnforcer } from './webdav/index.ts';
import { createMeetingsEnforcer, type HostLimits } from './bbb/index.ts';
import type { MeetingSweeper, SweepReport } from './bbb/sweeper.ts';
import { GreenlightStarts } from './bbb/greenlight.ts';
import { checksumError } from './bbb/answers.ts';

export interface ServiceEnforcersOptions {
  services: readonly ServiceConfig[];
  stores: Stores;
  clock: Clock;
  /** A host's limits on a service (the policies' decision for that account). */
  limitsOf(subject: string, service: ServiceConfig): Promise<HostLimits>;
  /** The two secrets of a `bbb` service: the one given to the front end, and BigBlueButton's own. */
  bbbSecrets(service: ServiceConfig): { front: string; bbb: string } | undefined;
  recordUsage?(usage: UsageInput): boolean;
  notify?(subject: string, message: string): void | Promise<void>;
  moreSpaceUrl?: string;
  planName?(planIds: string[]): string;
  /** Ids of the (generic) services that front Greenlight's web app: their start requests name meeting hosts. */
  greenlightServices?: string[];
  logger?: Logger;
}

export interface ServiceEnforcerSet {
  enforcers: Enforcers;
  /** Notes Greenlight start requests: install it on the service that fronts Greenlight's web app. */
  greenlight: GreenlightStarts;
  sweep(): Promise<SweepReport[]>;
}

function byService(map: Map<string, Enforcer>): Enforcer {
  return {
    beforeProxy(scope: RequestScope) {
      return map.get(scope.service!.id)?.beforeProxy(scope);
    },
  };
}

export function createServiceEnforcers(options: ServiceEnforcersOptions): ServiceEnforcerSet {
  const logger = options.logger ?? silentLogger;
  const { stores, clock } = options;
  const webdav = new Map<string, Enforcer>();
  const bbb = new Map<string, Enforcer>();
  const sweepers: MeetingSweeper[] = [];
  const greenlight = new GreenlightStarts({ documents: stores.documents, kv: stores.kv, clock });

  for (const service of options.services) {
    if (service.kind === 'webdav') {
      const enforcer = createStorageQuotaEnforcer({
        service: { id: service.id, name: service.name, upstream: service.upstream },
        counters: stores.counters,
        kv: stores.kv,
        moreSpaceUrl: options.moreSpaceUrl,
        planName: options.planName,
        logger,
      });
      webdav.set(service.id, asGatewayEnforcer(enforcer));
    } else if (service.kind === 'bbb') {
      const secrets = options.bbbSecrets(service);
      if (!secrets) {
        // Fail closed: without its secrets the gateway cannot verify nor re-sign a single call.
        logger.error({ service: service.id }, 'bbb service has no secrets configured: every API call is refused');
        bbb.set(service.id, { beforeProxy: () => Promise.reject(new EnforcerRefusal(checksumError())) });
        continue;
      }
      const enforcer = createMeetingsEnforcer({
        service: { id: service.id, name: service.name },
        upstream: service.upstream,
        frontSecret: secrets.front,
        bbbSecret: secrets.bbb,
        kv: stores.kv,
        counters: stores.counters,
        documents: stores.documents,
        clock,
        limitsOf: (owner) => options.limitsOf(owner, service),
        ownerOf: greenlight.ownerOf,
        recordUsage: options.recordUsage,
        notify: options.notify,
        logger,
      });
      sweepers.push(enforcer.sweeper);
      bbb.set(service.id, asGatewayEnforcer(enforcer));
    }
  }

  const generic = new Map<string, Enforcer>((options.greenlightServices ?? []).map((id) => [id, asGatewayEnforcer(greenlight.observer)]));

  return {
    enforcers: { generic: byService(generic), webdav: byService(webdav), bbb: byService(bbb) },
    greenlight,
    sweep: () => Promise.all(sweepers.map((s) => s.sweep())),
  };
}
