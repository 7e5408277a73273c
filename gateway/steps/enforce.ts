/**
 * Step: the service's enforcer, by service kind. `generic` enforces nothing more; `webdav` (storage
 * quota) and `bbb` (meeting limits) are the free-tier-limits issue's and plug in here.
 */
import type { ServiceConfig } from '../types.ts';
import type { RequestScope } from '../scope.ts';

export interface Enforcer {
  /** Throws an AppError to refuse; may wrap the request or response to count bytes. */
  beforeProxy(scope: RequestScope): void | Promise<void>;
}

export const genericEnforcer: Enforcer = { beforeProxy: () => undefined };

export type Enforcers = Partial<Record<ServiceConfig['kind'], Enforcer>>;

export function enforce(enforcers: Enforcers) {
  return function enforceStep(scope: RequestScope): void | Promise<void> {
    return (enforcers[scope.service!.kind] ?? genericEnforcer).beforeProxy(scope);
  };
}
