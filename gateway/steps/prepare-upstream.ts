/**
 * The request as the upstream receives it: the normalised path; the identity headers; the
 * gateway's own cookies removed (an upstream never sees a gateway session); a bearer token passed on
 * only when the service asks for the access token; X-Forwarded-* rewritten (kept and extended only
 * from a trusted proxy).
 */
import type { RequestScope } from '../scope.ts';
import type { ClientAddressResolver } from '../client-address.ts';
import type { CookiePolicy } from '../session/cookie.ts';
import { withoutCookie } from '../session/cookie.ts';

export function prepareUpstreamRequest(scope: RequestScope, clientAddress: ClientAddressResolver, cookies: CookiePolicy): void {
  const { req } = scope;
  const headers = req.headers;
  const service = scope.service!;
  req.url = scope.path + scope.query;

  if (headers.authorization && /^bearer /i.test(headers.authorization)) delete headers.authorization;
  if (service.passAccessToken && scope.principal?.accessToken) headers.authorization = `Bearer ${scope.principal.accessToken}`;

  if (headers.cookie && (headers.cookie.includes(cookies.sessionName) || headers.cookie.includes(cookies.loginName))) {
    const rest = withoutCookie(withoutCookie(headers.cookie, cookies.sessionName), cookies.loginName);
    if (rest) headers.cookie = rest;
    else delete headers.cookie;
  }

  for (const [name, value] of Object.entries(scope.identityHeaders)) headers[name] = value;

  const remote = req.socket.remoteAddress ?? '';
  const trusted = clientAddress.isTrusted(remote);
  const direct = remote.startsWith('::ffff:') ? remote.slice(7) : remote;
  const priorFor = trusted ? headers['x-forwarded-for'] : undefined;
  headers['x-forwarded-for'] = priorFor ? `${Array.isArray(priorFor) ? priorFor.join(', ') : priorFor}, ${direct}` : direct;
  headers['x-real-ip'] = scope.clientIp;
  if (!trusted || !headers['x-forwarded-proto']) headers['x-forwarded-proto'] = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http';
  if (!trusted || !headers['x-forwarded-host']) headers['x-forwarded-host'] = headers.host ?? '';
  if (!trusted) delete headers.forwarded;
}
