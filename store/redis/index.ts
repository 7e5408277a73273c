/** Placeholder until the Redis store lands (same commit series). */
import type { RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../../kernel/logger.ts';
import type { Stores } from '../types.ts';

export abstract class RedisStores implements Stores {
  readonly kind = 'redis' as const;
  abstract kv: Stores['kv'];
  abstract counters: Stores['counters'];
  abstract ledger: Stores['ledger'];
  abstract documents: Stores['documents'];
  abstract broadcast: Stores['broadcast'];
  abstract ping(): Promise<void>;
  abstract close(): Promise<void>;
  abstract createRateLimiter(opts: { keyPrefix: string; points: number; duration: number; blockDuration?: number }): RateLimiterAbstract;
}

export async function createRedisStores(_options: { url: string; keyPrefix: string; logger?: Logger }): Promise<RedisStores> {
  throw new Error('The Redis store is not implemented yet.');
}
