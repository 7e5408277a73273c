/**
 * Turns a store URL into an ioredis client. Forms:
 *   redis://[[user]:password@]host:port[/db]        rediss:// (the same over TLS)
 *   redis+sentinel://[[user]:password@]host:port,host:port/<master name>[?db=N&sentinelPassword=…]
 *   redis+cluster://[[user]:password@]host:port,host:port
 * The password never appears in logs or errors: use `redactRedisUrl` to show a URL.
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

export interface RedisNode {
  host: string;
  port: number;
}

export interface RedisTarget {
  mode: 'standalone' | 'sentinel' | 'cluster';
  nodes: RedisNode[];
  tls: boolean;
  username?: string;
  password?: string;
  db: number;
  /** Sentinel only: the name of the monitored master. */
  masterName?: string;
  sentinelPassword?: string;
}

const SCHEMES: Record<string, { mode: RedisTarget['mode']; tls: boolean }> = {
  redis: { mode: 'standalone', tls: false },
  rediss: { mode: 'standalone', tls: true },
  'redis+sentinel': { mode: 'sentinel', tls: false },
  'redis+cluster': { mode: 'cluster', tls: false },
};

const URL_SHAPE = /^([a-z+]+):\/\/(?:([^@/]*)@)?([^/?#]+)(?:\/([^?#]*))?(?:\?([^#]*))?$/;

/** Parses a store URL; errors name what is wrong and never repeat the password. */
export function parseRedisUrl(url: string): RedisTarget {
  const m = URL_SHAPE.exec(url);
  if (!m) throw new TypeError(`store.url is not a Redis URL: ${redactRedisUrl(url)}`);
  const [, scheme, userinfo, hostList, path = '', query = ''] = m;
  const kind = SCHEMES[scheme];
  if (!kind) throw new TypeError(`store.url must start with redis://, rediss://, redis+sentinel:// or redis+cluster://, got ${scheme}://`);

  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = colon < 0 ? userinfo : userinfo.slice(0, colon);
    username = user ? decodeURIComponent(user) : undefined;
    password = colon < 0 ? undefined : decodeURIComponent(userinfo.slice(colon + 1)) || undefined;
    // `redis://secret@host` is the old form where the lone part is the password.
    if (colon < 0 && username !== undefined) [username, password] = [undefined, username];
  }

  const nodes = hostList.split(',').map(parseNode);
  if (kind.mode === 'standalone' && nodes.length !== 1) throw new TypeError('store.url: redis:// takes exactly one host:port; use redis+sentinel:// or redis+cluster:// for several.');

  const params = new URLSearchParams(query);
  const target: RedisTarget = { mode: kind.mode, nodes, tls: kind.tls || params.get('tls') === 'true', username, password, db: 0 };
  const segment = decodeURIComponent(path);
  if (kind.mode === 'standalone') {
    target.db = parseDb(segment || params.get('db') || '0');
  } else if (kind.mode === 'sentinel') {
    if (!segment) throw new TypeError('store.url: redis+sentinel:// needs the master name as its path, e.g. redis+sentinel://host:26379/mymaster');
    target.masterName = segment;
    target.db = parseDb(params.get('db') ?? '0');
    target.sentinelPassword = params.get('sentinelPassword') ?? undefined;
  } else if (segment) {
    throw new TypeError('store.url: redis+cluster:// has no database or path (Cluster only has database 0).');
  }
  return target;
}

function parseNode(text: string): RedisNode {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(text.trim());
  if (!m) throw new TypeError(`store.url: "${text}" is not host:port`);
  const host = m[1].startsWith('[') ? m[1].slice(1, -1) : m[1];
  const port = m[2] === undefined ? 6379 : Number(m[2]);
  if (port < 1 || port > 65535) throw new TypeError(`store.url: port ${port} is out of range`);
  return { host, port };
}

function parseDb(text: string): number {
  if (!/^\d{1,2}$/.test(text)) throw new TypeError(`store.url: database must be a number, got "${text}"`);
  return Number(text);
}

/** The URL with its password (and sentinelPassword) replaced, for logs and error messages. */
export function redactRedisUrl(url: string): string {
  return url.replace(/(:\/\/[^:@/]*:)[^@/]*@/, '$1***@').replace(/(\/\/)([^:@/]+)@/, '$1***@').replace(/(sentinelPassword=)[^&#]*/, '$1***');
}

export interface ConnectOptions {
  /** Called with connection errors (already stripped of credentials by ioredis); attach a logger here. */
  onError?: (err: Error) => void;
  connectionName?: string;
}

/**
 * Builds a client that fails fast: no offline queue (a command while disconnected rejects at once,
 * so callers can fail closed) and one retry per command; it keeps reconnecting in the background.
 * The client starts disconnected: call `connect()`.
 */
export function createRedisClient(target: RedisTarget, options: ConnectOptions = {}): RedisClient {
  const common: RedisOptions = {
    username: target.username,
    password: target.password,
    db: target.db,
    tls: target.tls ? {} : undefined,
    connectionName: options.connectionName,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5000,
    // ioredis's disconnect() arms a timer (2 s by default) that only a 'close' event clears: on a
    // connection that never opened (refused, wrong password) the close already happened, so a failed
    // start-up held the process for 2 s. A graceful close on a working connection takes far less.
    disconnectTimeout: 300,
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
  let client: RedisClient;
  if (target.mode === 'standalone') {
    client = new Redis({ ...common, host: target.nodes[0].host, port: target.nodes[0].port });
  } else if (target.mode === 'sentinel') {
    client = new Redis({ ...common, sentinels: target.nodes, name: target.masterName, sentinelPassword: target.sentinelPassword });
  } else {
    const { enableOfflineQueue: _q, lazyConnect: _l, maxRetriesPerRequest: _m, retryStrategy: _r, db: _d, ...redisOptions } = common;
    const clusterOptions: ClusterOptions = {
      redisOptions: { ...redisOptions, maxRetriesPerRequest: 1 },
      enableOfflineQueue: false,
      lazyConnect: true,
      clusterRetryStrategy: (times) => Math.min(times * 100, 2000),
    };
    client = new Cluster(target.nodes, clusterOptions);
  }
  // Without a listener an 'error' event would crash the process; connection errors surface as rejected commands.
  client.on('error', (err: Error) => options.onError?.(err));
  return client;
}

/**
 * Closes a client for good: QUIT when it is connected; when it is not (reconnecting, so QUIT is
 * refused for want of an offline queue), disconnect, which also stops the reconnecting. Without the
 * fallback a client closed during an outage reconnects when Redis returns and keeps the process alive.
 */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  await client.quit().catch(() => client.disconnect());
}
