/**
 * The gateway's own endpoints under `/_porta/`: the OIDC callback, sign-in start (for nginx's
 * 401 → login redirect), RP-initiated logout, back-channel logout, forward-auth.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError, notFound } from '../../kernel/errors.ts';
import type { GatewayContext } from '../context.ts';
import { asAppError, refusalFor, send } from '../respond.ts';
import { readCookie, clearCookie } from './cookie.ts';

const MAX_BODY = 64 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new AppError(413, 'too_large', 'The request body is too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function createPortaRoutes(
  ctx: GatewayContext,
  handlers: {
    forwardAuth: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    backchannelLogout: (token: string | undefined) => Promise<number>;
  },
) {
  const { login, sessions, cookies, logger } = ctx;

  function redirect(res: ServerResponse, location: string, setCookies: string[] = []): void {
    res.writeHead(302, { location, 'cache-control': 'no-store', 'content-length': 0, ...(setCookies.length ? { 'set-cookie': setCookies } : {}) });
    res.end();
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
    const method = req.method ?? 'GET';
    switch (path) {
      case '/_porta/callback': {
        if (method !== 'GET') throw new AppError(405, 'method_not_allowed', 'Use GET.');
        const done = await login.callback(req);
        return redirect(res, done.location, done.cookies);
      }
      case '/_porta/start': {
        const started = await login.start(query.get('rd') ?? '/');
        return redirect(res, started.location, [started.cookie]);
      }
      case '/_porta/logout': {
        const cookie = readCookie(req.headers.cookie, cookies.sessionName);
        const handle = cookie ? await sessions.find(cookie) : undefined;
        if (cookie) await sessions.end([sessions.keyOf(cookie)]);
        const location = await login.endSessionUrl(handle?.session);
        return redirect(res, location, [clearCookie(cookies, cookies.sessionName)]);
      }
      case '/_porta/backchannel-logout': {
        if (method !== 'POST') throw new AppError(405, 'method_not_allowed', 'Use POST.');
        const form = new URLSearchParams(await readBody(req));
        await handlers.backchannelLogout(form.get('logout_token') ?? undefined);
        res.writeHead(200, { 'cache-control': 'no-store', 'content-length': 0 });
        res.end();
        return;
      }
      case '/_porta/auth':
        return handlers.forwardAuth(req, res);
      default:
        throw notFound();
    }
  }

  return async function portaRoutes(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://gateway');
    try {
      await route(req, res, url.pathname, url.searchParams);
    } catch (thrown) {
      const error = asAppError(thrown);
      if (error.status >= 500) logger.error({ err: error.cause ?? error, detail: error.detail }, error.message);
      else logger.info({ code: error.code, detail: error.detail }, error.message);
      if (url.pathname === '/_porta/backchannel-logout') {
        const body = JSON.stringify({ error: error.status === 400 ? 'invalid_request' : error.code, error_description: error.message });
        res.writeHead(error.status, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
        res.end(body);
        return;
      }
      send(res, refusalFor(error, req));
    }
  };
}

