/**
 * The Lua scripts that make multi-step operations atomic on Redis. Each script touches one key, or
 * keys that share a `{hash tag}`, so they also run on Redis Cluster. Registered with `defineCommand`
 * (EVALSHA with an EVAL fallback).
 */
import type { RedisClient } from './connect.ts';

/**
 * Most arguments a script passes to one command (Lua's unpack is bounded by its C stack, ~8000).
 * Smaller than an append chunk of 100 entries on purpose: every such append writes in two rounds,
 * so the contract suite runs the split path, at the cost of a few extra commands.
 */
const LUA_BATCH = 64;

export const LUA = {
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
  /**
   * KEYS data hash, time zset, log zset, seq counter; ARGV[1] the entries, one per line as
   * `id <TAB> time <TAB> json` (the usage journal's lines; ids hold no control characters and JSON no
   * raw newline); the hash keeps `time json`. One argument rather than three per entry: encoding thousands of
   * arguments cost the writer ~2 µs an entry in the client library, on the request path's core.
   * Returns how many were new. One HMGET finds the ids already present (skipped, not counted; within
   * the batch the first of a repeated id wins, as HSETNX would), then one HSET, one ZADD per index
   * and one INCRBY write the new ones: a handful of commands per call instead of four per entry.
   */
  portaLedgerAppend: {
    numberOfKeys: 4,
    lua: `
local blob, ids, times, payloads, n, at = ARGV[1], {}, {}, {}, 0, 1
local find, sub, len = string.find, string.sub, #ARGV[1]
-- Plain finds (memchr), not patterns: a pattern tests every character of every payload.
while at <= len do
  local eol = find(blob, '\\n', at, true) or len + 1
  if eol > at then -- an empty line is skipped, as the embedded ledger does
    local tab1 = find(blob, '\\t', at, true)
    local tab2 = find(blob, '\\t', tab1 + 1, true)
    n = n + 1
    ids[n] = sub(blob, at, tab1 - 1); times[n] = sub(blob, tab1 + 1, tab2 - 1); payloads[n] = times[n] .. ' ' .. sub(blob, tab2 + 1, eol - 1)
  end
  at = eol + 1
end
-- Commands get at most ${LUA_BATCH} arguments (unpack is bounded by the Lua C stack).
local present = {}
for i = 1, n, ${LUA_BATCH} do
  local got = redis.call('HMGET', KEYS[1], unpack(ids, i, math.min(i + ${LUA_BATCH} - 1, n)))
  for j = 1, #got do present[i + j - 1] = got[j] end
end
local fresh, seen, added = {}, {}, 0
for i = 1, n do
  local id = ids[i]
  if not present[i] and not seen[id] then
    seen[id] = true
    added = added + 1
    fresh[added] = i
  end
end
if added == 0 then return 0 end
local seq = redis.call('INCRBY', KEYS[4], added) - added
for from = 1, added, ${LUA_BATCH / 2} do
  local data, byTime, byLog, a = {}, {}, {}, 0
  for k = from, math.min(from + ${LUA_BATCH / 2} - 1, added) do
    local i = fresh[k]
    local id = ids[i]
    data[a + 1] = id; data[a + 2] = payloads[i]
    byTime[a + 1] = times[i]; byTime[a + 2] = id
    byLog[a + 1] = seq + k; byLog[a + 2] = id
    a = a + 2
  end
  redis.call('HSET', KEYS[1], unpack(data))
  redis.call('ZADD', KEYS[2], unpack(byTime))
  redis.call('ZADD', KEYS[3], unpack(byLog))
end
return added`,
  },
  /**
   * KEYS time zset, data hash; ARGV from, to (exclusive), count, after id, after time (both '' on the
   * first page). The next page of a range in (time, id) order, found by rank, not by offset: ZRANK of
   * the last id returned is O(log n), so a page at the end of a month costs what the first one did.
   * If that id was deleted meanwhile, its place is counted from its time and the ids tied with it.
   * Returns flat (id, time, payload) triples.
   */
  portaLedgerRange: {
    numberOfKeys: 2,
    lua: `
local from, to, count, afterId, afterTime = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], ARGV[5]
local start
if afterId == '' then
  start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. from)
else
  start = redis.call('ZRANK', KEYS[1], afterId)
  if start then
    start = start + 1
  else
    -- Byte order, as sorted sets compare members (Lua's own < follows the locale).
    local function notAfter(a, b)
      for i = 1, math.min(#a, #b) do
        local x, y = a:byte(i), b:byte(i)
        if x ~= y then return x < y end
      end
      return #a <= #b
    end
    start = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. afterTime)
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], afterTime, afterTime)) do
      if notAfter(id, afterId) then start = start + 1 else break end
    end
  end
end
local r = redis.call('ZRANGE', KEYS[1], start, start + count - 1, 'WITHSCORES')
local out = {}
for i = 1, #r, 2 do
  if tonumber(r[i + 1]) >= to then break end
  local payload = redis.call('HGET', KEYS[2], r[i])
  if payload then
    out[#out + 1] = r[i]; out[#out + 1] = r[i + 1]; out[#out + 1] = payload
  end
end
return out`,
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
type ScriptFn = (...args: Array<string | number | Buffer>) => Promise<unknown>;

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

  run(name: ScriptName, keys: string[], args: Array<string | number | Buffer>): Promise<unknown> {
    const fn = (this.client as unknown as Record<ScriptName, ScriptFn>)[name];
    // Scripts declared with numberOfKeys -1 take the key count as their first argument.
    return LUA[name].numberOfKeys === -1 ? fn.call(this.client, keys.length, ...keys, ...args) : fn.call(this.client, ...keys, ...args);
  }
}
