/**
 * The Lua scripts that make multi-step operations atomic on Redis. Each script touches one key, or
 * keys that share a `{hash tag}`, so they also run on Redis Cluster. Registered with `defineCommand`
 * (EVALSHA with an EVAL fallback).
 */
import type { RedisClient } from './connect.ts';

const LUA = {
  /** KEYS[1] set; ARGV member, ttlMs (0 = none). Replaces a string; the TTL only grows. */
  portaAddToSet: {
    numberOfKeys: 1,
    lua: `
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'set' then redis.call('DEL', KEYS[1]); t = 'none' end
redis.call('SADD', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  if t == 'none' then redis.call('PEXPIRE', KEYS[1], ttl)
  else
    local left = redis.call('PTTL', KEYS[1])
    if left >= 0 and left < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  end
end
return 1`,
  },
  /** KEYS[1] counter; ARGV by, ttlMs (0 = none). TTL set on creation only. Returns the new value as a string. */
  portaIncrement: {
    numberOfKeys: 1,
    lua: `
local existed = redis.call('EXISTS', KEYS[1])
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[2])
if existed == 0 and ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
return v`,
  },
  /** KEYS[1] counter; ARGV amount, limit, base, ttlMs. Returns {granted 0|1, total as string}. */
  portaReserve: {
    numberOfKeys: 1,
    lua: `
local raw = redis.call('GET', KEYS[1])
local current = tonumber(raw or '0')
if tonumber(ARGV[3]) + current + tonumber(ARGV[1]) > tonumber(ARGV[2]) then return {0, raw or '0'} end
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  if not raw then redis.call('PEXPIRE', KEYS[1], ttl)
  else
    local left = redis.call('PTTL', KEYS[1])
    if left >= 0 and left < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
  end
end
return {1, v}`,
  },
  /** KEYS[1] counter; ARGV amount, -amount. Never below zero; a counter at zero is deleted. */
  portaRelease: {
    numberOfKeys: 1,
    lua: `
local raw = redis.call('GET', KEYS[1])
if not raw then return '0' end
if tonumber(raw) - tonumber(ARGV[1]) <= 0 then redis.call('DEL', KEYS[1]); return '0' end
return redis.call('INCRBYFLOAT', KEYS[1], ARGV[2])`,
  },
  /** KEYS data hash, time zset, log zset, seq counter; ARGV triples (id, time, payload). Returns how many were new. */
  portaLedgerAppend: {
    numberOfKeys: 4,
    lua: `
local added = 0
for i = 1, #ARGV, 3 do
  if redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 2]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i])
    redis.call('ZADD', KEYS[3], redis.call('INCR', KEYS[4]), ARGV[i])
    added = added + 1
  end
end
return added`,
  },
  /** KEYS zset, data hash; ARGV min, max, offset, count. Returns flat (id, score, payload) triples. */
  portaLedgerPage: {
    numberOfKeys: 2,
    lua: `
local r = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], ARGV[2], 'WITHSCORES', 'LIMIT', ARGV[3], ARGV[4])
local out = {}
for i = 1, #r, 2 do
  local payload = redis.call('HGET', KEYS[2], r[i])
  if payload then
    out[#out + 1] = r[i]; out[#out + 1] = r[i + 1]; out[#out + 1] = payload
  end
end
return out`,
  },
  /** KEYS data hash, time zset, log zset; ARGV before, batch. Deletes up to batch entries older than before. */
  portaLedgerDeleteBefore: {
    numberOfKeys: 3,
    lua: `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1], 'LIMIT', 0, ARGV[2])
for _, id in ipairs(ids) do
  redis.call('HDEL', KEYS[1], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
return #ids`,
  },
  /** KEYS pairs (docs hash, versions hash) per change; ARGV triples (op set|del, id, json). */
  portaDocsWrite: {
    numberOfKeys: -1,
    lua: `
for c = 0, #KEYS / 2 - 1 do
  local docs, versions = KEYS[c * 2 + 1], KEYS[c * 2 + 2]
  local op, id = ARGV[c * 3 + 1], ARGV[c * 3 + 2]
  if op == 'set' then
    redis.call('HSET', docs, id, ARGV[c * 3 + 3])
    redis.call('HINCRBY', versions, id, 1)
  else
    redis.call('HDEL', docs, id)
    redis.call('HDEL', versions, id)
  end
end
return 1`,
  },
  /** KEYS docs hash, versions hash; ARGV id, json, expected version. Returns the new version or -1 on conflict. */
  portaDocsWriteVersioned: {
    numberOfKeys: 2,
    lua: `
local current = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
if current ~= tonumber(ARGV[3]) then return -1 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)`,
  },
} as const;

export type ScriptName = keyof typeof LUA;
type ScriptFn = (...args: Array<string | number>) => Promise<unknown>;

/** Calls the registered scripts with keys and arguments. */
export class Scripts {
  private readonly client: RedisClient;

  constructor(client: RedisClient) {
    this.client = client;
    for (const [name, def] of Object.entries(LUA)) {
      // Without numberOfKeys, ioredis takes the key count as the first argument (variadic scripts).
      client.defineCommand(name, def.numberOfKeys < 0 ? { lua: def.lua } : { numberOfKeys: def.numberOfKeys, lua: def.lua });
    }
  }

  run(name: ScriptName, keys: string[], args: Array<string | number>): Promise<unknown> {
    const fn = (this.client as unknown as Record<ScriptName, ScriptFn>)[name];
    // Scripts declared with numberOfKeys -1 take the key count as their first argument.
    return LUA[name].numberOfKeys === -1 ? fn.call(this.client, keys.length, ...keys, ...args) : fn.call(this.client, ...keys, ...args);
  }
}
