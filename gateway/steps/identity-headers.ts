/**
 * Step: the identity headers a service reads, in the naming its integration knows.
 * - `oauth2-proxy`: X-Forwarded-User (the stable `sub`), -Email, -Groups (comma-separated),
 *   -Preferred-Username;
 * - `authelia`: Remote-User (the username), -Email, -Groups, -Name;
 * - `none`: nothing.
 * Values are sent as UTF-8 bytes (as Authelia does); control characters are removed.
 */
import type { ServiceConfig } from '../types.ts';
import { NO_IDENTITY_HEADERS, type Principal, type RequestScope } from '../scope.ts';

function clean(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  const text = (Array.isArray(value) ? value.map(String).join(',') : String(value)).replace(/[\x00-\x1f\x7f]/g, '');
  if (!text) return undefined;
  return Buffer.from(text, 'utf8').toString('latin1');
}

/**
 * Headers per claims object and style: a cached session or token reuses them instead of rebuilding them
 * per request. The keys live as long as those caches (old objects), so this WeakMap does not have the
 * young-key cost described in upstreams.ts.
 */
const computed = new WeakMap<object, Partial<Record<ServiceConfig['identityHeaders'], Record<string, string>>>>();


/** Shared by every request of the same claims: read it, copy it to change it. */
export function identityHeadersFor(style: ServiceConfig['identityHeaders'], principal: Principal | undefined): Readonly<Record<string, string>> {
  if (!principal || style === 'none') return NO_IDENTITY_HEADERS;
  let byStyle = computed.get(principal.claims);
  if (!byStyle) {
    byStyle = {};
    computed.set(principal.claims, byStyle);
  }
  return (byStyle[style] ??= Object.freeze(build(style, principal)));
}

function build(style: ServiceConfig['identityHeaders'], principal: Principal): Record<string, string> {
  const out: Record<string, string> = {};
  const c = principal.claims;
  const put = (name: string, value: unknown) => {
    const v = clean(value);
    if (v !== undefined) out[name] = v;
  };
  if (style === 'oauth2-proxy') {
    put('x-forwarded-user', c.sub);
    put('x-forwarded-email', c.email);
    put('x-forwarded-groups', c.groups);
    put('x-forwarded-preferred-username', c.preferred_username);
  } else {
    put('remote-user', c.preferred_username ?? c.sub);
    put('remote-email', c.email);
    put('remote-groups', c.groups);
    put('remote-name', c.name);
  }
  return out;
}

export function identityHeadersStep(scope: RequestScope): void {
  scope.identityHeaders = identityHeadersFor(scope.service!.identityHeaders, scope.principal);
}
