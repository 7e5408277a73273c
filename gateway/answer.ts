/**
 * Answers a refused request. Sign-in required: a browser is sent to the IdP (302, with the login
 * cookie), anything else gets 401 with `WWW-Authenticate: Bearer`. Everything else: the refusal
 * page or JSON. A stale session cookie is cleared on the way.
 */
import type { ServerResponse } from 'node:http';
import type { GatewayContext } from './context.ts';
import type { RequestScope } from './scope.ts';
import { asAppError, isBrowser, refusalFor, send, sendOnSocket } from './respond.ts';
import { SignInRequired } from './refusals.ts';
import { clearCookie } from './session/cookie.ts';

export function createAnswer(ctx: GatewayContext) {
  const { login, cookies, logger } = ctx;

  function redirect(res: ServerResponse, location: string, setCookies: string[]): void {
    res.writeHead(302, { location, 'cache-control': 'no-store', 'set-cookie': setCookies, 'content-length': 0 });
    res.end();
  }

  /** Where to come back after signing in. */
  function returnToOf(scope: RequestScope): string {
    if (scope.mode !== 'forward-auth') return scope.path + scope.query;
    const proto = scope.req.headers['x-forwarded-proto'] === 'https' ? 'https' : 'http';
    const host = scope.req.headers['x-forwarded-host'];
    return host ? `${proto}://${String(host)}${scope.path}${scope.query}` : scope.path + scope.query;
  }

  return async function answer(scope: RequestScope, thrown: unknown): Promise<void> {
    const error = asAppError(thrown);
    if (error.status >= 500) logger.error({ err: error.cause ?? error, code: error.code, detail: error.detail }, error.message);
    scope.status = error.status;
    const extra: string[] = scope.staleSessionCookie ? [clearCookie(cookies, cookies.sessionName)] : [];
    if (scope.socket) {
      sendOnSocket(scope.socket, refusalFor(error, scope.req, { bearerAttempt: scope.bearerAttempt }));
      return;
    }
    const res = scope.res!;
    // nginx auth_request understands only 2xx/401/403: it gets 401 and redirects itself (docs/gateway.md).
    const canRedirect = scope.mode === 'proxy' || (scope.mode === 'forward-auth' && scope.req.headers['x-forwarded-uri'] !== undefined);
    if (error instanceof SignInRequired && canRedirect && !scope.bearerAttempt && isBrowser(scope.req)) {
      try {
        const started = await login.start(returnToOf(scope));
        redirect(res, started.location, [...extra, started.cookie]);
        return;
      } catch (loginError) {
        const failure = asAppError(loginError);
        logger.error({ err: failure.cause ?? failure }, failure.message);
        send(res, refusalFor(failure, scope.req));
        return;
      }
    }
    send(res, refusalFor(error, scope.req, { bearerAttempt: scope.bearerAttempt }), extra.length ? { 'set-cookie': extra } : {});
  };
}
