/** Free loopback TCP ports for test servers. */
import { createServer } from 'node:net';

/**
 * Ports are drawn below Linux's ephemeral range (32768–60999): a port the kernel hands out for
 * `listen(0)` can be handed out again, a moment later, as the local port of some other test's
 * outgoing connection, and the server that was to bind it fails with EADDRINUSE (seen with suites
 * in parallel). Ports here are only ever taken on purpose.
 */
const LOW = 20_000;
const HIGH = 32_000;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A loopback port that was free a moment ago and that the kernel does not hand out on its own. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await bindable(port)) return port;
  }
  throw new Error(`no free loopback port between ${LOW} and ${HIGH}`);
}
