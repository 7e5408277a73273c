/**
 * Starts a real gateway on a loopback port, wired to the real policies (`policies/decide`) with the
 * test policy, a given Stores and a usage-record sink.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../../config/load.ts';
import type { ServiceConfig } from '../../../config/schema/index.ts';
import type { Stores } from '../../../store/types.ts';
import type { Clock } from '../../../kernel/clock.ts';
import { silentLogger } from '../../../kernel/logger.ts';
import { loadPolicyFile } from '../../../policies/load.ts';
import { decide } from '../../../policies/decide.ts';
import { identityOf, anonymousIdentity } from '../../../policies/identity.ts';
import type { Identity } from '../../../policies/types.ts';
import { createGateway, type Gateway, type GatewayUsageRecord, type Claims } from '../../../gateway/index.ts';
import { CLIENT_SECRET } from './tiny-idp.ts';

export const TEST_POLICY = fileURLToPath(new URL('./test-policy.yaml', import.meta.url));

export interface RunningGateway {
  url: string;
  gateway: Gateway;
  records: GatewayUsageRecord[];
  /** TCP connections the gateway has accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export function identityFor(claims: Claims | undefined): Identity {
  if (!claims) return anonymousIdentity();
  return identityOf({ id: claims.sub, platformAdmin: claims.sub === 'admin' }, [], { plans: [], extraStorageBlocks: 0 }, Array.isArray(claims.amr) ? (claims.amr as string[]) : []);
}

export async function startGateway(options: {
  port: number;
  issuer: string;
  stores: Stores;
  services: Array<Partial<ServiceConfig> & { id: string; upstream: string }>;
  trustedProxies?: string[];
  clock?: Clock;
  gateway?: Record<string, unknown>;
}): Promise<RunningGateway> {
  const publicUrl = `http://127.0.0.1:${options.port}`;
  const config = parseConfig({
    server: { trustedProxies: options.trustedProxies ?? [] },
    idp: { issuer: options.issuer },
    gateway: { publicUrl, clientSecret: CLIENT_SECRET, ...options.gateway },
    services: options.services.map((s) => ({ name: s.id.toUpperCase(), ...s })),
  });
  const policy = loadPolicyFile(TEST_POLICY).compiled;
  const records: GatewayUsageRecord[] = [];
  const gateway = await createGateway<Identity>({
    config,
    stores: options.stores,
    decide: (identity, service, request) => decide(policy, identity, { id: service.id, name: service.name, dedicated: service.dedicated }, request),
    identityOf: async (claims) => identityFor(claims),
    recordUsage: (record) => {
      records.push(record);
      return true;
    },
    logger: silentLogger,
    clock: options.clock,
  });
  const server = http.createServer(gateway.handle);
  server.on('upgrade', gateway.upgrade);
  let connections = 0;
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  return {
    url: publicUrl,
    gateway,
    records,
    connections: () => connections,
    async close() {
      await gateway.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
