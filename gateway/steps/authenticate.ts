/**
 * Step: who is asking. A bearer JWT (verified locally, cached until it expires) or the session
 * cookie (cached briefly, revoked everywhere by broadcast); otherwise nobody. A token that fails
 * verification is a 401 whatever the route; a cookie that names no live session (malformed, forged,
 * foreign, ended) is simply no session. A session whose access token expired is refreshed at the
 * IdP first, which is also where a revocation at the IdP takes effect.
 * On a proxied `webdav` service that sends identity headers, `Authorization: Basic` is a Porta
 * device password (sync clients): a match signs the account in (`via: 'device'`) and the header is
 * removed so the password never goes upstream; a wrong one is refused there (401 Basic, 429).
 */
import type { GatewayContext } from '../context.ts';
import type { RequestScope, Principal } from '../scope.ts';
import type { SessionHandle } from '../session/session-store.ts';
import type { VerifiedToken } from '../auth/bearer.ts';
import { invalidToken } from '../auth/bearer.ts';
import { readCookie } from '../session/cookie.ts';
import { createIdentityCache } from '../auth/identity-cache.ts';
import { EnforcerRefusal } from '../enforcers/gateway-adapter.ts';

/** Refresh this long before the access token expires. */
const REFRESH_MARGIN_MS = 15_000;

export function authenticate<Identity>(ctx: GatewayContext<Identity>) {
  const { bearer, sessions, identities, login, clock, cookies } = ctx;
  const deviceLogin = ctx.deps.deviceLogin;
  // Its own cache: the session cache is keyed by subject alone and would mix a session's amr with the device's.
  const deviceIdentities = deviceLogin ? createIdentityCache({ identityOf: ctx.deps.identityOf, clock, ttlSeconds: ctx.config.gateway.identityCacheSeconds }) : undefined;

  function withIdentity(scope: RequestScope<Identity>, principal: Omit<Principal<Identity>, 'identity'> | undefined): void | Promise<void> {
    const identity = identities.of(principal?.claims);
    const apply = (value: Identity) => {
      scope.identity = value;
      if (principal) scope.principal = { ...principal, identity: value };
    };
    if (identity instanceof Promise) return identity.then(apply);
    apply(identity);
  }

  function fromToken(scope: RequestScope<Identity>, token: string, verified: VerifiedToken): void | Promise<void> {
    return withIdentity(scope, { subject: verified.claims.sub, claims: verified.claims, via: 'bearer', accessToken: token });
  }

  function fromSession(scope: RequestScope<Identity>, handle: SessionHandle | undefined): void | Promise<void> {
    if (!handle) {
      scope.staleSessionCookie = true;
      return withIdentity(scope, undefined);
    }
    const { session } = handle;
    if (session.refreshToken && session.accessTokenExpiresAt !== undefined && session.accessTokenExpiresAt - REFRESH_MARGIN_MS <= clock.now()) {
      return login.refresh(handle).then((fresh) => {
        if (!fresh) {
          scope.staleSessionCookie = true;
          return withIdentity(scope, undefined);
        }
        return withIdentity(scope, { subject: fresh.session.subject, claims: fresh.session.claims, via: 'session', accessToken: fresh.session.accessToken });
      });
    }
    return withIdentity(scope, { subject: session.subject, claims: session.claims, via: 'session', accessToken: session.accessToken });
  }

  async function fromDevice(scope: RequestScope<Identity>, authorization: string): Promise<void> {
    const result = await deviceLogin!.signIn(authorization, scope.clientIp, scope.service!.name);
    if ('refuse' in result) throw new EnforcerRefusal(result.refuse);
    delete scope.req.headers.authorization;
    const identity = await deviceIdentities!.of(result.claims);
    scope.identity = identity;
    scope.principal = { subject: result.claims.sub, claims: result.claims, via: 'device', identity };
  }

  return function authenticateStep(scope: RequestScope<Identity>): void | Promise<void> {
    const authorization = scope.req.headers.authorization;
    if (deviceLogin && authorization && scope.mode === 'proxy' && scope.service?.kind === 'webdav' && scope.service.identityHeaders !== 'none' && /^basic /i.test(authorization)) {
      return fromDevice(scope, authorization);
    }
    if (authorization && /^bearer /i.test(authorization)) {
      scope.bearerAttempt = true;
      const token = authorization.slice(7).trim();
      if (!token) throw invalidToken('The access token is missing.');
      const verified = bearer.verify(token);
      if (verified instanceof Promise) return verified.then((v) => fromToken(scope, token, v));
      return fromToken(scope, token, verified);
    }
    const cookieHeader = scope.req.headers.cookie;
    const cookie = readCookie(cookieHeader, cookies.sessionName);
    if (!cookie) {
      if (cookieHeader && cookieHeader.includes(cookies.sessionName + '=')) scope.staleSessionCookie = true;
      return withIdentity(scope, undefined);
    }
    const handle = sessions.find(cookie);
    if (handle instanceof Promise) return handle.then((h) => fromSession(scope, h));
    return fromSession(scope, handle);
  };
}
