import type { PortaConfig } from '../config/schema/index.ts';
import type { Logger } from '../kernel/logger.ts';
import { withOperations, type ReadinessCheck } from '../kernel/ops.ts';
import { createStores } from '../store/index.ts';
import type { Stores } from '../store/types.ts';
import { startListener, type Listener } from './listener.ts';

export type Role = 'all' | 'idp' | 'gateway';

export interface RunningPorta {
  listeners: Listener[];
  /** Graceful stop: stop accepting, finish in-flight requests, flush, close stores. */
  stop(): Promise<void>;
}

/** The composition root: builds the parts a role needs and starts its listeners. */
export async function startPorta(config: PortaConfig, role: Role, logger: Logger): Promise<RunningPorta> {
  const stores: Stores = await createStores({ ...config.store, dataDir: config.dataDir }, { logger });
  const checks: ReadinessCheck[] = [{ name: 'store', check: () => stores.ping() }];
  const listeners: Listener[] = [];
  const closers: Array<() => Promise<void>> = [];

  try {
    if (role === 'all' || role === 'idp') {
      listeners.push(
        await startListener({
          name: 'idp',
          host: config.server.host,
          port: config.server.idpPort,
          logger,
          handler: withOperations('idp', checks, logger, (_req, res) => {
            res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
            res.end('Not found.\n');
          }),
        }),
      );
    }
    if (role === 'all' || role === 'gateway') {
      listeners.push(
        await startListener({
          name: 'gateway',
          host: config.server.host,
          port: config.server.gatewayPort,
          logger,
          maxHeaderSize: config.gateway.maxHeaderBytes,
          headersTimeoutMs: config.gateway.headersTimeoutMs,
          handler: withOperations('gateway', checks, logger, (_req, res) => {
            res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
            res.end('No service is configured for this address.\n');
          }),
        }),
      );
    }
  } catch (error) {
    await Promise.all(listeners.map((l) => l.close(0)));
    await stores.close();
    throw error;
  }

  let stopping: Promise<void> | undefined;
  return {
    listeners,
    stop: () =>
      (stopping ??= (async () => {
        await Promise.all(listeners.map((l) => l.close(config.server.shutdownTimeoutMs)));
        for (const close of closers.reverse()) await close();
        await stores.close();
      })()),
  };
}
