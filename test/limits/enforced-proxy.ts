/**
 * A small real reverse proxy for the limits tests and the benchmark: node http + httpxy (the engine
 * of http-proxy-middleware 4) with a keep-alive agent, running one service enforcer the way the
 * gateway does. Who is asking comes from the test header `x-test-user` (the gateway's authenticate
 * and decide steps are not under test here); the upstream gets it as `X-Forwarded-User`.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ProxyServer } from 'httpxy';
import type { EnforcedLimits, EnforcedRequest, ServiceEnforcer } from '../../gateway/enforcers/types.ts';

export interface EnforcedProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

export interface EnforcedProxyOptions {
  upstream: string;
  /** Without one, a bare proxy (for the benchmark's baseline). */
  enforcer?: ServiceEnforcer;
  limitsOf?: (subject: string) => EnforcedLimits | undefined;
}

export async function startEnforcedProxy(options: EnforcedProxyOptions): Promise<EnforcedProxy> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const proxy = new ProxyServer({ target: options.upstream, agent, xfwd: false });
  proxy.on('error', (_err, _req, res) => {
    if (res instanceof http.ServerResponse && !res.headersSent) res.writeHead(502).end('bad gateway');
    else if (res && 'destroy' in res) res.destroy();
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const subject = typeof req.headers['x-test-user'] === 'string' ? req.headers['x-test-user'] : undefined;
    delete req.headers['x-test-user'];
    const upstreamHeaders: Record<string, string> = subject ? { 'x-forwarded-user': subject } : {};
    Object.assign(req.headers, upstreamHeaders);
    if (!options.enforcer) {
      proxy.web(req, res).catch(() => undefined);
      return;
    }
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const request: EnforcedRequest = {
      req,
      res,
      method: (req.method ?? 'GET').toUpperCase(),
      path: q < 0 ? url : url.slice(0, q),
      query: q < 0 ? '' : url.slice(q),
      subject,
      limits: subject ? options.limitsOf?.(subject) : undefined,
      upstreamHeaders,
    };
    const outcome = await options.enforcer.admit(request);
    if ('refuse' in outcome) {
      const { status, headers, body } = outcome.refuse;
      req.resume();
      res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) }).end(body);
      return;
    }
    const admission = outcome.admit;
    if (admission.url) req.url = admission.url;
    if (admission.settle) {
      const settle = admission.settle;
      res.once('close', () => settle(res.writableFinished ? res.statusCode : undefined));
    }
    proxy.web(req, res, admission.body ? { buffer: admission.body } : {}).catch(() => undefined);
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
