/**
 * A whole Porta (IdP, admin API and UI, gateway, metering) started in this process the way
 * `porta start` does, on free loopback ports with a fresh embedded store in a temp folder (or the
 * Redis / LDAP given). For end-to-end tests.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../config/load.ts';
import type { PortaConfig } from '../../config/schema/index.ts';
import { silentLogger, type Logger } from '../../kernel/logger.ts';
import type { Clock } from '../../kernel/clock.ts';
import { startPorta, type RunningPorta, type Role } from '../../cli/start.ts';
import { createPlatformAdmin } from '../../directory/cli/admin-create.ts';
import { freePort } from './ports.ts';

export interface TestPorta extends RunningPorta {
  config: PortaConfig;
  issuer: string;
  gatewayUrl: string;
  dataDir: string;
  /** Creates a platform admin with this password and returns its account id. */
  createAdmin(username: string, password: string): Promise<string>;
  /** Stops Porta and removes its temp folder (unless the data dir was given). */
  close(): Promise<void>;
}

export interface TestPortaOptions {
  /** Raw configuration merged over the test defaults (before validation). */
  config?: Record<string, unknown>;
  role?: Role;
  /** Fixed ports (for several processes sharing one configuration); default: free ones. */
  idpPort?: number;
  gatewayPort?: number;
  dataDir?: string;
  logger?: Logger;
  clock?: Clock;
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object' && !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

export async function startTestPorta(options: TestPortaOptions = {}): Promise<TestPorta> {
  const ownDir = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'porta-e2e-'));
  const idpPort = options.idpPort ?? (await freePort());
  const gatewayPort = options.gatewayPort ?? (await freePort());
  const issuer = `http://127.0.0.1:${idpPort}`;
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const raw = merge(
    {
      server: { host: '127.0.0.1', idpPort, gatewayPort, shutdownTimeoutMs: 2000 },
      log: { level: 'silent' },
      store: { kind: 'embedded', path: join(dataDir, 'porta.db') },
      dataDir,
      idp: { issuer },
      gateway: { publicUrl: gatewayUrl },
      metering: { journalPath: join(dataDir, 'journal') },
    },
    options.config ?? {},
  );
  const config = parseConfig(raw, {});
  const running = await startPorta(config, options.role ?? 'all', options.logger ?? silentLogger, { clock: options.clock });
  return {
    ...running,
    config,
    issuer,
    gatewayUrl,
    dataDir,
    async createAdmin(username, password) {
      const account = await createPlatformAdmin(running.platform.directory, { username, email: `${username}@example.coop`, password });
      return account.id;
    },
    async close() {
      await running.stop();
      if (ownDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
