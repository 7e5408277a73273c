/** Broadcast on Redis pub/sub. Subscriptions use a dedicated connection (a subscribed connection cannot run other commands). */
import type { Logger } from '../../kernel/logger.ts';
import type { Broadcast } from '../types.ts';
import { closeRedisClient, type RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';

type Handler = (message: string) => void;

export class RedisBroadcast implements Broadcast {
  private readonly publisher: RedisClient;
  private readonly keys: RedisKeys;
  private readonly logger: Logger;
  private readonly openSubscriber: () => Promise<RedisClient>;
  private subscriber?: Promise<RedisClient>;
  private closed = false;
  private subscriberClient?: RedisClient;
  private interruptions = 0;
  private readonly channels = new Map<string, { handlers: Set<Handler>; ready: Promise<unknown> }>();

  constructor(publisher: RedisClient, keys: RedisKeys, logger: Logger, openSubscriber: () => Promise<RedisClient>) {
    this.publisher = publisher;
    this.keys = keys;
    this.logger = logger;
    this.openSubscriber = openSubscriber;
  }

  connected(): boolean {
    if (this.closed || this.publisher.status !== 'ready') return false;
    return this.subscriberClient === undefined || this.subscriberClient.status === 'ready';
  }

  epoch(): number {
    return this.interruptions;
  }

  async publish(channel: string, message: string): Promise<void> {
    await this.publisher.publish(this.keys.channel(channel), message);
  }

  async subscribe(channel: string, onMessage: Handler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('The Redis store is closed.');
    const name = this.keys.channel(channel);
    const client = await this.connection();
    let entry = this.channels.get(name);
    if (!entry) {
      const created = { handlers: new Set<Handler>(), ready: client.subscribe(name) };
      entry = created;
      this.channels.set(name, created);
      created.ready.catch(() => {
        if (this.channels.get(name) === created) this.channels.delete(name);
      });
    }
    await entry.ready; // a second subscriber also waits until Redis confirmed the subscription
    const handler: Handler = (message) => onMessage(message);
    entry.handlers.add(handler);
    const subscribed = entry;
    return async () => {
      if (!subscribed.handlers.delete(handler) || subscribed.handlers.size > 0) return;
      if (this.channels.get(name) === subscribed) this.channels.delete(name);
      // A connection that is down has no subscription left to end.
      await client.unsubscribe(name).catch(() => undefined);
    };
  }

  /** Closes the subscriber connection, if one was opened. */
  async close(): Promise<void> {
    this.closed = true;
    const pending = this.subscriber;
    this.subscriber = undefined;
    this.channels.clear();
    const client = await pending?.catch(() => undefined); // a subscriber that never connected has nothing to close
    if (!client) return;
    await closeRedisClient(client);
  }

  private connection(): Promise<RedisClient> {
    this.subscriber ??= this.openSubscriber().then((client) => {
      client.on('message', (channel: string, message: string) => this.deliver(channel, message));
      // Messages published while the subscriber was away are lost: tell caches to start afresh.
      client.on('close', () => (this.interruptions += 1));
      this.subscriberClient = client;
      return client;
    });
    this.subscriber.catch(() => (this.subscriber = undefined));
    return this.subscriber;
  }

  private deliver(channel: string, message: string): void {
    for (const handler of this.channels.get(channel)?.handlers ?? []) {
      try {
        handler(message);
      } catch (err) {
        this.logger.error({ err, channel }, 'broadcast subscriber failed');
      }
    }
  }
}
