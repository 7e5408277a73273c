/**
 * A real Porta IdP listener for the admin UI browser tests: embedded store in a temp folder, the
 * embedded directory, the IdP, the admin API (directory + policy routes) and the admin UI, on a
 * free loopback port, composed like `cli/start.ts` composes them.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { parseConfig } from '../../config/load.ts';
import type { PortaConfig } from '../../config/schema/index.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { createDirectory } from '../../directory/index.ts';
import type { Directory } from '../../directory/types.ts';
import { AuditLog } from '../../directory/audit.ts';
import { OutboxMailer } from '../../directory/mail/outbox.ts';
import { AccountFlows } from '../../directory/accounts/account-flows.ts';
import { linksFor } from '../../directory/accounts/links.ts';
import { createIdp, type Idp } from '../../idp/index.ts';
import { createAdminApi } from '../../admin-ui/api/index.ts';
import { PolicyStore } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';
import { policyRoutes } from '../../policies/admin-routes.ts';
import { adminUiRouter } from '../../admin-ui/serve.ts';
import { createReporting } from '../../metering/reports.ts';
import { feeScheduleFrom } from '../../metering/schedule.ts';
import { usageRoutes } from '../../metering/admin-routes.ts';

export interface Stack {
  url: string;
  config: PortaConfig;
  stores: Stores;
  directory: Directory;
  outbox: OutboxMailer;
  audit: AuditLog;
  policies: PolicyStore;
  subscriptions: SubscriptionStore;
  close(): Promise<void>;
}

export const SERVICES = [
  { id: 'oficina', name: 'Oficina', kind: 'webdav', upstream: 'http://127.0.0.1:9', dedicated: true },
  { id: 'agora', name: 'Agora', kind: 'generic', upstream: 'http://127.0.0.1:9', dedicated: true },
  { id: 'meetings', name: 'Meetings', kind: 'bbb', upstream: 'http://127.0.0.1:9' },
];

export async function startStack(options: { idp?: Record<string, unknown> } = {}): Promise<Stack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'porta-admin-ui-'));
  let app: express.Express | undefined;
  const server: Server = createServer((req, res) => (app ? app(req, res) : res.writeHead(503).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  const config = parseConfig({
    dataDir,
    store: { kind: 'embedded', path: join(dataDir, 'porta.db') },
    idp: { issuer: url, ...options.idp },
    services: SERVICES,
  });
  const stores = await createStores({ ...config.store, dataDir }, { logger: silentLogger });
  const directory = createDirectory(config, stores);
  const audit = new AuditLog(stores.ledger);
  const outbox = new OutboxMailer({ documents: stores.documents, from: config.mail.from });
  const flows = new AccountFlows({
    directory,
    kv: stores.kv,
    documents: stores.documents,
    mailer: outbox,
    audit,
    links: linksFor(url),
    registration: 'open',
    ttl: config.directory.tokens,
  });
  const policies = await PolicyStore.open({ stores, knownServices: SERVICES.map((s) => s.id), pollMs: 0 });
  const subscriptions = new SubscriptionStore({ stores, policy: () => policies.current().compiled.document });
  const idp: Idp = await createIdp({ config, stores, directory, logger: silentLogger });
  const policy = policyRoutes({ policies, subscriptions, directory, services: config.services });
  const reporting = createReporting({
    ledger: stores.ledger,
    documents: stores.documents,
    schedule: feeScheduleFrom({ policy: () => policies.current().compiled.document, subscriptions }),
    weights: config.metering.weights,
  });
  const usage = usageRoutes({ reporting });

  const composed = express();
  composed.use(idp.handler);
  composed.use(
    '/api/v1',
    createAdminApi({
      directory,
      flows,
      audit,
      outbox,
      broadcast: stores.broadcast,
      verifyAccessToken: (token) => idp.verifyAccessToken(token, config.idp.adminAudience),
      extraRouters: [
        { path: '/', router: policy.router, openapi: policy.openapi },
        { path: '/', router: usage.router, openapi: usage.openapi },
      ],
    }),
  );
  composed.use(adminUiRouter());
  app = composed;

  return {
    url,
    config,
    stores,
    directory,
    outbox,
    audit,
    policies,
    subscriptions,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await idp.close();
      await policies.close?.();
      await directory.close();
      await stores.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
