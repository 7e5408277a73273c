/**
 * Step: remove every header a client could use to pretend to be someone. These are the identity
 * headers of oauth2-proxy and Authelia, in any letter case (Node lower-cases names) and with `_`
 * for `-` (PHP and CGI read `X_Forwarded_User` as `HTTP_X_FORWARDED_USER`, the same variable as
 * `X-Forwarded-User`). Forwarding headers are rewritten later by the proxy step.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestScope } from '../scope.ts';

export const SPOOFABLE_HEADERS: ReadonlySet<string> = new Set([
  'x-forwarded-user',
  'x-forwarded-email',
  'x-forwarded-groups',
  'x-forwarded-preferred-username',
  'x-forwarded-access-token',
  'x-auth-request-user',
  'x-auth-request-email',
  'x-auth-request-groups',
  'x-auth-request-preferred-username',
  'x-auth-request-access-token',
  'remote-user',
  'remote-email',
  'remote-groups',
  'remote-name',
]);

/** True for a header name that, read the way PHP/CGI reads it, is one of the identity headers. */
export function isSpoofable(name: string): boolean {
  // Every identity header starts with x or r: most names are let go without building a string.
  const first = name.charCodeAt(0) | 0x20;
  if (first !== 0x78 && first !== 0x72) return false;
  return SPOOFABLE_HEADERS.has(name.toLowerCase().replaceAll('_', '-'));
}

export function stripSpoofableHeaders(headers: IncomingHttpHeaders): void {
  for (const name in headers) {
    if (isSpoofable(name)) delete headers[name];
  }
}

export function stripHeadersStep(scope: RequestScope): void {
  stripSpoofableHeaders(scope.req.headers);
}
