/**
 * Key layout under the configured prefix P. Keys an atomic script touches together share a
 * `{hash tag}` so that Redis Cluster keeps them in one slot:
 *   P kv:<key>                          strings and sets (KeyValueStore)
 *   P ctr:<key>                         counters and reservations
 *   P ledger:{<stream>}:data|time|log|seq   one ledger stream (tag = the stream)
 *   P {docs}:d:<collection> / :v:<collection>  documents and versions (one tag, so a batch across collections is atomic)
 *   P rl:<limiter>:<key>                rate limiters (rate-limiter-flexible)
 *   P bc:<channel>                      pub/sub channels
 */
export class RedisKeys {
  readonly prefix: string;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  kv(key: string): string {
    return `${this.prefix}kv:${key}`;
  }

  counter(key: string): string {
    return `${this.prefix}ctr:${key}`;
  }

  ledger(stream: string): { data: string; time: string; log: string; seq: string } {
    const base = `${this.prefix}ledger:{${stream}}`;
    return { data: `${base}:data`, time: `${base}:time`, log: `${base}:log`, seq: `${base}:seq` };
  }

  documents(collection: string): { docs: string; versions: string } {
    return { docs: `${this.prefix}{docs}:d:${collection}`, versions: `${this.prefix}{docs}:v:${collection}` };
  }

  rateLimiter(name: string): string {
    return `${this.prefix}rl:${name}`;
  }

  channel(channel: string): string {
    return `${this.prefix}bc:${channel}`;
  }
}
