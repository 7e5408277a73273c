/**
 * Step: find the service a request is for. Routes come from `config.services`: a service with a
 * `host` is preferred to one without; among those, the longest `pathPrefix` wins. A prefix matches
 * whole segments only (`/admin` matches `/admin` and `/admin/x`, never `/administrator`).
 * Matching is case-sensitive, like the paths themselves.
 */
import { notFound } from '../../kernel/errors.ts';
import type { ServiceConfig } from '../types.ts';
import type { RequestScope } from '../scope.ts';

export interface RouteTable {
  match(host: string, path: string): ServiceConfig | undefined;
}

export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/' || prefix === '') return true;
  const bare = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === bare || path.startsWith(bare + '/');
}

export function createRouteTable(services: readonly ServiceConfig[]): RouteTable {
  const ordered = [...services].sort((a, b) => {
    const byHost = Number(Boolean(b.host)) - Number(Boolean(a.host));
    return byHost !== 0 ? byHost : b.pathPrefix.length - a.pathPrefix.length;
  });
  return {
    match(host, path) {
      for (const service of ordered) {
        if (service.host && service.host.toLowerCase() !== host) continue;
        if (prefixMatches(service.pathPrefix, path)) return service;
      }
      return undefined;
    },
  };
}

export function matchRoute(routes: RouteTable) {
  return function matchRouteStep(scope: RequestScope): void {
    scope.service = routes.match(scope.host, scope.path);
    if (!scope.service) throw notFound('No service is published at this address.');
  };
}

/** Host without port, lower case. */
export function hostOf(value: string | undefined): string {
  if (!value) return '';
  const v = value.trim().toLowerCase();
  if (v.startsWith('[')) return v.slice(0, v.indexOf(']') + 1);
  const colon = v.indexOf(':');
  return colon === -1 ? v : v.slice(0, colon);
}
