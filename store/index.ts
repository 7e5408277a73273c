/**
 * Entry point of store/: builds the configured Stores and rate limiters over them. Only this folder
 * knows whether state lives in SQLite or Redis.
 */
import { RateLimiterSQLite, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import type { PortaConfig } from '../config/schema/index.ts';
import type { Stores } from './types.ts';
import { EmbeddedStores } from './embedded/index.ts';
import { RATE_LIMIT_TABLE } from './embedded/database.ts';
import { normalize, resolve } from 'node:path';

export type * from './types.ts';
export { EmbeddedStores, createEmbeddedStores } from './embedded/index.ts';

export type StoreConfig = PortaConfig['store'] & { dataDir?: string };

export interface CreateStoresOptions {
  clock?: Clock;
  logger?: Logger;
}

/**
 * Opens the store named by `config.kind`. Embedded: the SQLite file (see `embeddedPath`), created
 * with its folder if missing. Redis: connects and waits until the server answers (rejects with
 * StoreUnavailableError otherwise).
 */
export async function createStores(config: StoreConfig, options: CreateStoresOptions = {}): Promise<Stores> {
  switch (config.kind) {
    case 'embedded': {
      const path = embeddedPath(config);
      return new EmbeddedStores({ path, clock: options.clock, logger: options.logger });
    }
    case 'redis': {
      if (!config.url) throw new TypeError('store.url is required when store.kind is redis.');
      const { createRedisStores } = await import('./redis/index.ts');
      return createRedisStores({ url: config.url, keyPrefix: config.keyPrefix, logger: options.logger });
    }
    default:
      throw new TypeError(`store.kind must be embedded or redis, got ${String((config as { kind: unknown }).kind)}.`);
  }
}

/** The schema's default for store.path; left at it, the file follows `dataDir`. */
const DEFAULT_EMBEDDED_PATH = './data/porta.db';

/**
 * `store.path` as configured; relative paths resolve against the working directory. Left at its
 * default, the file is `<dataDir>/porta.db`, so setting only `dataDir` (PORTA_DATA_DIR) moves it.
 */
export function embeddedPath(config: Pick<StoreConfig, 'path' | 'dataDir'>): string {
  if (config.path === ':memory:') return config.path;
  if (config.dataDir && normalize(config.path) === normalize(DEFAULT_EMBEDDED_PATH)) return resolve(config.dataDir, 'porta.db');
  return resolve(config.path);
}

export interface RateLimiterOptions {
  /** Namespace of this limiter's keys, e.g. `login-ip`. Letters, digits, `-`, `_`, `:` and `.`. */
  keyPrefix: string;
  /** Requests allowed per `duration`. */
  points: number;
  /** Window in seconds. */
  duration: number;
  /** Seconds a key stays blocked once it used all its points (default: until the window ends). */
  blockDuration?: number;
}

/**
 * A rate-limiter-flexible limiter whose counters live in the same store as everything else, so all
 * processes share them. On Redis it fails fast when Redis is down (the client has no offline queue):
 * `consume` rejects with an Error (not a RateLimiterRes), and callers must treat that as "deny"
 * (fail closed). Embedded: RateLimiterSQLite over the same better-sqlite3 file (the table is created
 * with the store, and the store's purge timer deletes expired rows: the library's own timer would
 * outlive a closed store and fail on it).
 */
export async function createRateLimiter(stores: Stores, opts: RateLimiterOptions): Promise<RateLimiterAbstract> {
  if (!/^[\w:.-]+$/.test(opts.keyPrefix)) throw new TypeError(`keyPrefix may only hold letters, digits, '-', '_', ':' and '.', got ${JSON.stringify(opts.keyPrefix)}.`);
  const common = { keyPrefix: opts.keyPrefix, points: opts.points, duration: opts.duration, blockDuration: opts.blockDuration };
  if (stores instanceof EmbeddedStores) {
    return new RateLimiterSQLite({ ...common, storeClient: stores.db, storeType: 'better-sqlite3', tableName: RATE_LIMIT_TABLE, tableCreated: true, clearExpiredByTimeout: false });
  }
  const { RedisStores } = await import('./redis/index.ts');
  if (stores instanceof RedisStores) return stores.createRateLimiter(common);
  throw new TypeError('createRateLimiter needs Stores made by createStores.');
}
