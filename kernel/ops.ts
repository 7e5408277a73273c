import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Logger } from './logger.ts';
import { metricsRegistry, httpRequestDuration, httpRequests } from './metrics.ts';

/** A dependency that must answer for the process to be ready (the store, the directory). */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** The request id: the caller's `X-Request-Id` when it is sane, else a new one. Echoed on the response. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * Wraps a listener's handler with what every listener has: a request id, one structured log line per
 * request, request metrics, and `/healthz`, `/readyz`, `/metrics`.
 */
export function withOperations(
  listener: string,
  checks: ReadinessCheck[],
  logger: Logger,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const started = process.hrtime.bigint();
    const id = requestIdOf(req);
    (req as IncomingMessage & { id?: string }).id = id;
    res.setHeader('X-Request-Id', id);
    // Only the path, read before routers rewrite req.url: query strings may carry codes and tokens.
    const path = (req.url ?? '/').split('?')[0];
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const status = `${Math.floor(res.statusCode / 100)}xx`;
      httpRequestDuration.observe({ listener, status }, seconds);
      httpRequests.inc({ listener, status });
      logger.info({ reqId: id, listener, method: req.method, path, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
    });
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        void readiness(checks).then(({ ready, results }) => sendJson(res, ready ? 200 : 503, { ready, checks: results }));
        return;
      }
      if (path === '/metrics') {
        void metricsRegistry.metrics().then((text) => {
          res.writeHead(200, { 'Content-Type': metricsRegistry.contentType });
          res.end(text);
        });
        return;
      }
    }
    handler(req, res);
  };
}

async function readiness(checks: ReadinessCheck[]): Promise<{ ready: boolean; results: Record<string, string> }> {
  const results: Record<string, string> = {};
  await Promise.all(
    checks.map(async ({ name, check }) => {
      try {
        await withTimeout(check(), 2000);
        results[name] = 'ok';
      } catch (error) {
        results[name] = `unavailable: ${(error as Error).message}`;
      }
    }),
  );
  return { ready: Object.values(results).every((r) => r === 'ok'), results };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      (error) => (clearTimeout(timer), reject(error)),
    );
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}
