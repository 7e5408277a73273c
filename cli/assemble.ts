/**
 * Builds the parts every role shares, in dependency order: store → directory → policies and
 * subscriptions → metering. Roles (cli/start.ts) then add the IdP, the admin API and the gateway.
 */
import type { PortaConfig } from '../config/schema/index.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Clock } from '../kernel/clock.ts';
import { systemClock } from '../kernel/clock.ts';
import { metricsRegistry } from '../kernel/metrics.ts';
import { createStores } from '../store/index.ts';
import type { Stores } from '../store/types.ts';
import { createDirectory, createAccountServices, type AccountServices } from '../directory/index.ts';
import type { Directory } from '../directory/types.ts';
import { PolicyStore, SubscriptionStore, limitsFor, identityOf, anonymousIdentity, quotaClaim, type Identity } from '../policies/index.ts';
import { createMetering, feeScheduleFrom, type Metering } from '../metering/index.ts';

export interface Platform {
  config: PortaConfig;
  clock: Clock;
  logger: Logger;
  stores: Stores;
  directory: Directory;
  accounts: AccountServices;
  policies: PolicyStore;
  subscriptions: SubscriptionStore;
  metering: Metering;
  /** Plans, collectives and grants of an account, as the policies see them. */
  identityOf(accountId: string | undefined, amr?: string[]): Promise<Identity>;
  /** Plan and Nextcloud quota string for the IdP's claims. */
  entitlements(accountId: string): Promise<{ plan: string; quota: string }>;
  close(): Promise<void>;
}

export async function assemblePlatform(config: PortaConfig, logger: Logger, clock: Clock = systemClock): Promise<Platform> {
  const closers: Array<() => Promise<void>> = [];
  const stores = await createStores({ ...config.store, dataDir: config.dataDir }, { logger, clock });
  closers.push(() => stores.close());
  try {
    const directory = createDirectory(config, stores, { logger, clock });
    closers.push(() => directory.close());
    const accounts = createAccountServices(config, stores, directory, { clock });
    const knownServices = config.services.map((s) => s.id);
    const policies = await PolicyStore.open({ stores, clock, logger, knownServices, initialFile: config.policiesFile });
    closers.push(() => policies.close());
    const subscriptions = new SubscriptionStore({ stores, policy: () => policies.current().document, clock, cacheMs: 5000 });
    await subscriptions.watch();
    closers.push(() => subscriptions.close());
    const metering = createMetering({
      config,
      stores,
      schedule: feeScheduleFrom({ policy: () => policies.current().document, subscriptions }),
      logger,
      clock,
      metrics: metricsRegistry,
    });
    closers.push(() => metering.close());

    const identity = async (accountId: string | undefined, amr: string[] = []): Promise<Identity> => {
      if (!accountId) return anonymousIdentity();
      const account = await directory.getAccount(accountId);
      if (!account || account.status !== 'active') return anonymousIdentity();
      const memberships = await directory.membershipsOf(accountId);
      const entitlements = await subscriptions.entitlementsOf(accountId, memberships);
      return identityOf(account, memberships, entitlements, amr);
    };

    return {
      config,
      clock,
      logger,
      stores,
      directory,
      accounts,
      policies,
      subscriptions,
      metering,
      identityOf: identity,
      async entitlements(accountId) {
        const who = await identity(accountId);
        const policy = policies.current().document;
        const storageService = config.services.find((s) => s.kind === 'webdav')?.id ?? 'oficina';
        const limits = limitsFor(policy, who, storageService);
        // The claim names the plan the account pays for, when it has one, else the default (free) plan.
        return { plan: limits.plans.find((p) => p !== policy.defaultPlan) ?? policy.defaultPlan, quota: quotaClaim(limits.storage) };
      },
      async close() {
        // Reverse order: metering flushes into the store before the store closes.
        for (const close of closers.reverse()) {
          await close().catch((error: unknown) => logger.error({ err: error }, 'error while closing'));
        }
      },
    };
  } catch (error) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw error;
  }
}
