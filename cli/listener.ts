import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../kernel/logger.ts';

export interface ListenerOptions {
  name: string;
  host: string;
  port: number;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  upgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void;
  logger: Logger;
  /** Largest request head accepted (431 past it). */
  maxHeaderSize?: number;
  /** The whole request head must arrive within this time (slowloris). */
  headersTimeoutMs?: number;
}

export interface Listener {
  name: string;
  url: string;
  port: number;
  server: Server;
  /** Stops accepting, lets in-flight requests finish (up to `timeoutMs`), then closes what is left. */
  close(timeoutMs: number): Promise<void>;
}

export async function startListener(options: ListenerOptions): Promise<Listener> {
  const server = createServer(
    {
      maxHeaderSize: options.maxHeaderSize ?? 16384,
      headersTimeout: options.headersTimeoutMs ?? 10000,
      requestTimeout: 0, // long uploads and downloads are legitimate; the head timeout guards slow clients
      // Node checks the head timeout on this interval (default 30 s): check often enough that a
      // slowloris connection is closed close to the timeout, not up to 30 s later.
      connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor((options.headersTimeoutMs ?? 10000) / 2))),
      keepAliveTimeout: 5000,
    },
    options.handler,
  );
  if (options.upgrade) server.on('upgrade', options.upgrade);
  server.on('clientError', (error, socket) => {
    if (!socket.writable) return socket.destroy();
    const code = (error as NodeJS.ErrnoException).code;
    const status = code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  options.logger.info({ listener: options.name, url }, `${options.name} listening`);

  return {
    name: options.name,
    url,
    port,
    server,
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        // Keep-alive sockets with no request in flight would hold close() open.
        server.closeIdleConnections();
      }),
  };
}
