/**
 * Turns a refusal into what the client understands: a small HTML page for a browser, JSON for an
 * API client (by Accept), a bare status line on a websocket. 401 carries `WWW-Authenticate: Bearer`,
 * 429 `Retry-After`, 403 the reason and what would give access.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { AppError } from '../kernel/errors.ts';
import { AccessDenied, RateLimited } from './refusals.ts';
import { EnforcerRefusal } from './enforcers/gateway-adapter.ts';

export function asAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  return new AppError(500, 'internal', 'Something went wrong in the gateway. Try again in a moment.', { cause: error, detail: String(error) });
}

/** A browser navigation (as opposed to an API client, a script or a websocket). */
export function isBrowser(req: IncomingMessage): boolean {
  const method = req.method ?? 'GET';
  if (method !== 'GET' && method !== 'HEAD') return false;
  if (req.headers.authorization) return false;
  if (req.headers['x-requested-with']) return false;
  const accept = req.headers.accept ?? '';
  return accept.includes('text/html');
}

export function wantsJson(req: IncomingMessage): boolean {
  const accept = req.headers.accept ?? '';
  if (accept.includes('application/json') || accept.includes('+json')) return true;
  return !accept.includes('text/html');
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function page(title: string, paragraphs: string[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}</style></head>
<body><h1>${escapeHtml(title)}</h1>${paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('')}</body></html>`;
}

export interface Refusal {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function refusalFor(error: AppError, req: IncomingMessage, options: { bearerAttempt?: boolean } = {}): Refusal {
  // An enforcer's refusal already speaks the service's dialect (DAV XML, BigBlueButton XML).
  if (error instanceof EnforcerRefusal) return error.refusal;
  const headers: Record<string, string> = { 'cache-control': 'no-store' };
  if (error.status === 401) {
    headers['www-authenticate'] = options.bearerAttempt
      ? `Bearer realm="porta", error="invalid_token", error_description="${error.message.replace(/["\\]/g, '')}"`
      : 'Bearer realm="porta"';
  }
  if (error instanceof RateLimited) headers['retry-after'] = String(error.retryAfterSeconds);
  const wouldAllow = error instanceof AccessDenied ? error.wouldAllow : undefined;
  if (wantsJson(req)) {
    headers['content-type'] = 'application/json; charset=utf-8';
    const body = JSON.stringify({ error: { code: error.code, message: error.message, ...(wouldAllow ? { wouldAllow } : {}) } });
    return { status: error.status, headers, body };
  }
  headers['content-type'] = 'text/html; charset=utf-8';
  headers['content-security-policy'] = "default-src 'none'; style-src 'unsafe-inline'";
  const title = error.status === 403 ? 'You do not have access here' : (STATUS_CODES[error.status] ?? 'Error');
  const lines = [error.message];
  if (wouldAllow) lines.push(`What would give you access: ${wouldAllow}`);
  return { status: error.status, headers, body: page(title, lines) };
}

export function send(res: ServerResponse, refusal: Refusal, extraHeaders: Record<string, string | string[]> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(refusal.status, { ...refusal.headers, ...extraHeaders, 'content-length': Buffer.byteLength(refusal.body) });
  res.end(res.req?.method === 'HEAD' ? undefined : refusal.body);
}

/** Answers a refused websocket upgrade on the raw socket and closes it. */
export function sendOnSocket(socket: Socket, refusal: Refusal): void {
  if (socket.destroyed) return;
  const head = [`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status] ?? 'Error'}`, 'connection: close', `content-length: ${Buffer.byteLength(refusal.body)}`];
  for (const [name, value] of Object.entries(refusal.headers)) head.push(`${name}: ${value}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${refusal.body}`);
}
