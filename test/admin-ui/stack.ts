/**
 * A whole Porta started in this process the way `porta start` does (test/helpers/porta.ts): IdP
 * listener with the admin API and the admin UI, gateway, metering, a fresh embedded store. This file
 * only adds the services the scenarios use and short names for the parts the tests look into.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestPorta, type TestPorta } from '../helpers/porta.ts';
import type { PortaConfig } from '../../config/schema/index.ts';
import type { Stores } from '../../store/types.ts';
import type { Directory } from '../../directory/types.ts';
import type { OutboxMailer } from '../../directory/mail/outbox.ts';
import type { PolicyStore } from '../../policies/policy-store.ts';
import type { SubscriptionStore } from '../../policies/subscription-store.ts';

export interface Stack {
  /** The IdP listener: issuer, admin API at /api/v1, admin UI at /admin. */
  url: string;
  porta: TestPorta;
  config: PortaConfig;
  stores: Stores;
  directory: Directory;
  outbox: OutboxMailer;
  policies: PolicyStore;
  subscriptions: SubscriptionStore;
  close(): Promise<void>;
}

export const SERVICES = [
  { id: 'oficina', name: 'Oficina', kind: 'webdav', upstream: 'http://127.0.0.1:9', host: 'oficina.test', dedicated: true },
  { id: 'agora', name: 'Agora', kind: 'generic', upstream: 'http://127.0.0.1:9', host: 'agora.test', dedicated: true },
  { id: 'meetings', name: 'Meetings', kind: 'bbb', upstream: 'http://127.0.0.1:9', host: 'meetings.test' },
];

export async function startStack(options: { idp?: Record<string, unknown> } = {}): Promise<Stack> {
  // These tests sign admins and managers in with a password only: the policy here requires no second
  // factor of them (the default policy does; test/idp/two-factor*.test.ts covers that).
  const policiesFile = join(mkdtempSync(join(tmpdir(), 'porta-ui-policy-')), 'policy.yaml');
  writeFileSync(policiesFile, `${readFileSync(new URL('../../policies/default.yaml', import.meta.url), 'utf8')}\nsecondFactor:\n  requiredForRoles: []\n`);
  const porta = await startTestPorta({ config: { services: SERVICES, policiesFile, ...(options.idp ? { idp: options.idp } : {}) } });
  const { platform } = porta;
  const outbox = platform.accounts.outbox;
  if (!outbox) {
    await porta.close();
    throw new Error('the test Porta has no mail outbox (is SMTP configured?)');
  }
  return {
    url: porta.issuer,
    porta,
    config: porta.config,
    stores: platform.stores,
    directory: platform.directory,
    outbox,
    policies: platform.policies,
    subscriptions: platform.subscriptions,
    close: () => porta.close(),
  };
}
