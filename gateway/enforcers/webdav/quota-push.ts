/**
 * Plan changes pushed to Nextcloud's own quota over OCS (nextcloud-ocs.ts), so the backstop for
 * writes the gateway cannot see follows the plan at once and not only at the next login (the
 * `quota` claim). Listens to the subscription changes every process announces on the store's
 * broadcast; a change names a subscription, whose holder is an account or a collective (then every
 * member). A short lock per subscription and version makes one gateway process push, not each.
 * A subscription that starts later, or ends, changes nothing until the next change or login:
 * nothing is scheduled (docs/limits.md).
 */
import type { Broadcast, KeyValueStore } from '../../../store/types.ts';
import type { Logger } from '../../../kernel/logger.ts';
import type { NextcloudOcs } from './nextcloud-ocs.ts';

export interface SubscriptionFacts {
  holder: { account: string } | { collective: string };
}

export interface QuotaPushOptions {
  /** The `webdav` services with OCS admin credentials. */
  services: Array<{ id: string; ocs: Pick<NextcloudOcs, 'setQuota'> }>;
  broadcast: Broadcast;
  kv: KeyValueStore;
  channel: string;
  /** The subscription as it is, or as it last was when deleted; and how many versions it has. */
  subscription(id: string): Promise<{ state: SubscriptionFacts | undefined; version: number }>;
  membersOf(collectiveId: string): Promise<string[]>;
  /** The account's storage on the service now, read fresh (bytes, null = unlimited). */
  storageOf(accountId: string, serviceId: string): Promise<number | null>;
  logger: Logger;
}

export interface QuotaPush {
  /** Pushes the quotas a subscription change affects; resolves with how many were set. */
  changed(subscriptionId: string): Promise<number>;
  start(): Promise<() => Promise<void>>;
}

export function createQuotaPush(options: QuotaPushOptions): QuotaPush {
  const { logger } = options;

  async function changed(subscriptionId: string): Promise<number> {
    const { state, version } = await options.subscription(subscriptionId);
    if (!state) return 0;
    if (!(await options.kv.setIfAbsent(`ocs-push:${subscriptionId}:${version}`, '1', 300))) return 0;
    const accounts = 'account' in state.holder ? [state.holder.account] : await options.membersOf(state.holder.collective);
    let pushed = 0;
    for (const service of options.services) {
      for (const account of accounts) {
        try {
          await service.ocs.setQuota(account, await options.storageOf(account, service.id));
          pushed += 1;
        } catch (err) {
          // Nextcloud's quota catches up at the account's next login (the `quota` claim).
          logger.warn({ err, service: service.id, account }, 'plan change: the quota could not be pushed to Nextcloud');
        }
      }
    }
    return pushed;
  }

  return {
    changed,
    async start() {
      if (options.services.length === 0) return async () => undefined;
      return options.broadcast.subscribe(options.channel, (message) => {
        let id: unknown;
        try {
          id = (JSON.parse(message) as { id?: unknown }).id;
        } catch {
          return;
        }
        if (typeof id === 'string') changed(id).catch((err: unknown) => logger.warn({ err }, 'plan change: quota push failed'));
      });
    },
  };
}
