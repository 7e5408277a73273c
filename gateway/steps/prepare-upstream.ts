/**
 * The request as the upstream receives it: the normalised path; the identity headers; the
 * gateway's own cookies removed (an upstream never sees a gateway session); a bearer token passed on
 * only when the service asks for the access token; X-Forwarded-* rewritten (kept and extended only
 * from a trusted proxy).
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { RequestScope } from '../scope.ts';
import type { CookiePolicy } from '../session/cookie.ts';
import { withoutCookie } from '../session/cookie.ts';

export function prepareUpstreamRequest(scope: RequestScope, cookies: CookiePolicy): void {
  const { req } = scope;
  const headers = req.headers;
  const service = scope.service!;
  req.url = scope.path + scope.query;

  const trusted = scope.fromTrustedProxy;

  // One pass into a new object rather than deletes on the parsed one: deleting properties turns an
  // object into a slow dictionary, which every later read and the proxy's copy of it then pay for.
  const out: IncomingHttpHeaders = {};
  for (const name in headers) {
    const value = headers[name];
    if (name === 'authorization') {
      if (typeof value === 'string' && BEARER.test(value)) continue;
    } else if (name === 'cookie') {
      if (typeof value === 'string' && (value.includes(cookies.sessionName) || value.includes(cookies.loginName))) {
        const rest = withoutCookie(withoutCookie(value, cookies.sessionName), cookies.loginName);
        if (rest) out.cookie = rest;
        continue;
      }
    } else if (name === 'forwarded' && !trusted) continue;
    out[name] = value;
  }
  if (service.passAccessToken && scope.principal?.accessToken) out.authorization = `Bearer ${scope.principal.accessToken}`;
  for (const name in scope.identityHeaders) out[name] = scope.identityHeaders[name];

  const priorFor = trusted ? headers['x-forwarded-for'] : undefined;
  out['x-forwarded-for'] = priorFor ? `${Array.isArray(priorFor) ? priorFor.join(', ') : priorFor}, ${scope.peerIp}` : scope.peerIp;
  out['x-real-ip'] = scope.clientIp;
  if (!trusted || !headers['x-forwarded-proto']) out['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  if (!trusted || !headers['x-forwarded-host']) out['x-forwarded-host'] = headers.host ?? '';
  req.headers = out;
}

const BEARER = /^bearer /i;
