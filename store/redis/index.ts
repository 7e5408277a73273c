/** The Redis store: shared state for several Porta processes (standalone Redis, Sentinel or Cluster). */
import { RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';
import type { Broadcast, CounterStore, DocumentStore, KeyValueStore, Ledger, Stores } from '../types.ts';
import { RedisBroadcast } from './broadcast.ts';
import { closeRedisClient, createRedisClient, parseRedisUrl, redactRedisUrl, type RedisClient, type RedisTarget } from './connect.ts';
import { RedisCounterStore } from './counters.ts';
import { RedisDocumentStore } from './documents.ts';
import { RedisKeys } from './keys.ts';
import { RedisKeyValueStore } from './kv.ts';
import { RedisLedger } from './ledger.ts';
import { Scripts } from './scripts.ts';
import { failClosed } from '../fail-closed.ts';

export { parseRedisUrl, redactRedisUrl } from './connect.ts';

export interface RedisStoreOptions {
  url: string;
  /** Prefix of every key and channel. */
  keyPrefix: string;
  logger?: Logger;
}

export interface RateLimiterSpec {
  keyPrefix: string;
  points: number;
  duration: number;
  blockDuration?: number;
}

export class RedisStores implements Stores {
  readonly kind = 'redis' as const;
  readonly kv: KeyValueStore;
  readonly counters: CounterStore;
  readonly ledger: Ledger;
  readonly documents: DocumentStore;
  readonly broadcast: Broadcast;
  readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly subscriber: RedisBroadcast;

  constructor(client: RedisClient, keyPrefix: string, logger: Logger, openSubscriber: () => Promise<RedisClient>) {
    this.client = client;
    this.keys = new RedisKeys(keyPrefix);
    const scripts = new Scripts(client);
    this.kv = failClosed(new RedisKeyValueStore(client, this.keys, scripts), 'Redis', isRedisOutage);
    this.counters = failClosed(new RedisCounterStore(client, this.keys, scripts), 'Redis', isRedisOutage);
    this.ledger = failClosed(new RedisLedger(client, this.keys, scripts), 'Redis', isRedisOutage);
    this.documents = failClosed(new RedisDocumentStore(client, this.keys, scripts), 'Redis', isRedisOutage);
    this.subscriber = new RedisBroadcast(client, this.keys, logger, openSubscriber);
    this.broadcast = failClosed<Broadcast>(this.subscriber, 'Redis', isRedisOutage);
  }

  /**
   * A limiter over the same Redis. The client has no offline queue and the limiter refuses while
   * the client is not ready, so `consume` rejects at once with an Error when Redis is down: the
   * caller must deny (fail closed).
   */
  createRateLimiter(spec: RateLimiterSpec): RateLimiterAbstract {
    return new RateLimiterRedis({
      storeClient: this.client,
      keyPrefix: this.keys.rateLimiter(spec.keyPrefix),
      points: spec.points,
      duration: spec.duration,
      blockDuration: spec.blockDuration,
      rejectIfRedisNotReady: true,
    });
  }

  async ping(): Promise<void> {
    try {
      await this.client.ping();
    } catch (err) {
      throw new StoreUnavailableError('Redis', err);
    }
  }

  async close(): Promise<void> {
    await this.subscriber.close();
    await closeRedisClient(this.client);
  }
}

/** Connects (main connection now, subscriber on first subscribe) and returns the stores. Rejects when Redis cannot be reached. */
export async function createRedisStores(options: RedisStoreOptions): Promise<RedisStores> {
  const logger = options.logger ?? silentLogger;
  const target = parseRedisUrl(options.url);
  const where = redactRedisUrl(options.url);
  const open = async (role: string): Promise<RedisClient> => {
    // The reason a connect fails (e.g. WRONGPASS) arrives as an 'error' event; connect() only says "closed".
    let lastError: Error | undefined;
    const log = onError(logger, where, role);
    const client = createRedisClient(target, {
      connectionName: `porta-${role}`,
      onError: (err) => {
        lastError = err;
        log(err);
      },
    });
    try {
      await withTimeout(
        (async () => {
          await client.connect();
          await waitReady(client, target);
        })(),
        CONNECT_TIMEOUT_MS,
        `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`,
      );
    } catch (err) {
      client.disconnect();
      const reason = lastError && lastError.message !== (err as Error).message ? `${(err as Error).message} (${lastError.message})` : (err as Error).message;
      throw new StoreUnavailableError('Redis', new Error(`cannot connect to ${where}: ${reason}`, { cause: err }));
    }
    return client;
  };
  const client = await open('main');
  logger.info({ store: where, mode: target.mode }, 'connected to Redis');
  return new RedisStores(client, options.keyPrefix, logger, () => open('subscriber'));
}

const CONNECT_TIMEOUT_MS = 10_000;

/** `connect()` of a Cluster resolves before the slots are known; wait for 'ready' so the first command does not fail. */
async function waitReady(client: RedisClient, target: RedisTarget): Promise<void> {
  if (client.status === 'ready' || target.mode !== 'cluster') return;
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
}

/** ioredis keeps retrying in the background, so a connect can wait forever (e.g. a cluster that serves no slot): bound it. */
async function withTimeout<T>(work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Logs connection trouble once per outage, not once per reconnect attempt. */
function onError(logger: Logger, where: string, role: string): (err: Error) => void {
  let lastMessage = '';
  return (err) => {
    if (err.message === lastMessage) return;
    lastMessage = err.message;
    logger.warn({ store: where, role, error: err.message }, 'Redis connection error');
  };
}

/** Reply errors that mean "Redis cannot serve this right now" (failover, loading, memory), not a bug. */
const OUTAGE_REPLIES = /^(LOADING|READONLY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|BUSY|OOM|NOREPLICAS|MISCONF)\b/;

/** Connection failures and outage replies are outages; argument errors (TypeError) and other replies are bugs. */
export function isRedisOutage(err: unknown): boolean {
  if (err instanceof TypeError || !(err instanceof Error)) return false;
  if (err.name === 'ReplyError') return OUTAGE_REPLIES.test(err.message);
  return true;
}
