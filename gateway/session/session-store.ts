/**
 * Gateway sessions: server-side records in the store's KeyValueStore behind an opaque cookie.
 *
 * - Store key `gw:session:<sha256(cookie)>`: the store never holds a usable cookie value.
 * - Indexes `gw:sid:<sid>` and `gw:sub:<sub>` (sets of session keys) let back-channel logout find
 *   every session of an IdP session or a subject.
 * - Sliding expiry (`sessionIdleSeconds`, the store TTL, refreshed at most every minute) and
 *   absolute expiry (`sessionMaxSeconds` after login, checked on every request).
 * - Each process caches sessions for `sessionCacheSeconds`. Ending a session deletes it from the
 *   store and broadcasts its key; every process drops it from its cache on the message, and the
 *   process that ended it waits until its own copy of the broadcast came back, so by the time the
 *   IdP hears "done" every subscriber has the message in hand.
 */
import type { Broadcast, KeyValueStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import { randomToken, sha256Hex } from '../../kernel/ids.ts';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import type { Claims } from '../types.ts';

export interface GatewaySession {
  subject: string;
  /** The IdP's session id (`sid` of the ID token), for back-channel logout. */
  sid?: string;
  claims: Claims;
  accessToken?: string;
  /** Milliseconds since the epoch. */
  accessTokenExpiresAt?: number;
  refreshToken?: string;
  idToken?: string;
  createdAt: number;
  lastSeenAt: number;
  /** Absolute end: createdAt + sessionMaxSeconds. */
  expiresAt: number;
}

export interface SessionHandle {
  /** The store key (a hash of the cookie). */
  key: string;
  session: GatewaySession;
}

export interface SessionStore {
  /** The live session behind a cookie value, or undefined. */
  find(cookie: string): SessionHandle | undefined | Promise<SessionHandle | undefined>;
  /** A new session with a new random id; returns the cookie value. */
  create(session: Omit<GatewaySession, 'createdAt' | 'lastSeenAt' | 'expiresAt'>): Promise<string>;
  /** Writes a changed session (after a token refresh). */
  save(handle: SessionHandle): Promise<void>;
  /** Ends sessions by key everywhere; resolves once the broadcast went round. */
  end(keys: string[]): Promise<void>;
  keysOfSid(sid: string): Promise<string[]>;
  keysOfSubject(sub: string): Promise<string[]>;
  keyOf(cookie: string): string;
  close(): Promise<void>;
}

const CHANNEL = 'gateway:sessions-ended';
const TOUCH_EVERY_MS = 60_000;
const KEY_MEMO_SIZE = 10_000;

/** Store key of a session record, and of the index of a subject's session keys (listing.ts reads both). */
export const sessionRecordKey = (key: string) => `gw:session:${key}`;
export const subjectIndexKey = (sub: string) => `gw:sub:${sub}`;

/** Not past its absolute end and used within the idle time. */
export function sessionIsLive(session: Pick<GatewaySession, 'expiresAt' | 'lastSeenAt'>, now: number, idleSeconds: number): boolean {
  return session.expiresAt > now && now - session.lastSeenAt < idleSeconds * 1000;
}

export async function createSessionStore(options: {
  kv: KeyValueStore;
  broadcast: Broadcast;
  clock: Clock;
  logger: Logger;
  idleSeconds: number;
  maxSeconds: number;
  cacheSeconds: number;
}): Promise<SessionStore> {
  const { kv, broadcast, clock, logger, idleSeconds, maxSeconds } = options;
  const cacheMs = options.cacheSeconds * 1000;
  const cache = new Map<string, { handle: SessionHandle; until: number }>();
  // The cache is only as good as the logout broadcasts that keep it fresh: entries cached before a
  // gap in delivery are dropped, and while delivery is down nothing cached is trusted (fail closed).
  let cachedEpoch = broadcast.epoch();
  const waiting = new Map<string, () => void>();
  const storeKey = sessionRecordKey;
  // Cookie → store key, remembered so a cached session costs no hash per request. Bounded: a flood
  // of made-up cookies only empties it.
  const keys = new Map<string, string>();
  const keyOf = (cookie: string): string => {
    let key = keys.get(cookie);
    if (key === undefined) {
      if (keys.size >= KEY_MEMO_SIZE) keys.clear();
      key = sha256Hex(cookie);
      keys.set(cookie, key);
    }
    return key;
  };

  const unsubscribe = await broadcast.subscribe(CHANNEL, (message) => {
    try {
      const { nonce, keys } = JSON.parse(message) as { nonce: string; keys: string[] };
      for (const key of keys) cache.delete(key);
      waiting.get(nonce)?.();
    } catch (error) {
      logger.warn({ err: error }, 'unreadable session broadcast');
    }
  });

  function ttlOf(session: GatewaySession, now: number): number {
    return Math.max(1, Math.ceil(Math.min(idleSeconds * 1000, session.expiresAt - now) / 1000));
  }

  function live(session: GatewaySession, now: number): boolean {
    return sessionIsLive(session, now, idleSeconds);
  }

  function touch(key: string, session: GatewaySession, now: number): void {
    if (now - session.lastSeenAt < TOUCH_EVERY_MS) return;
    session.lastSeenAt = now;
    kv.set(storeKey(key), JSON.stringify(session), ttlOf(session, now)).catch((error: unknown) => logger.warn({ err: error }, 'could not extend a session'));
  }

  async function load(key: string): Promise<SessionHandle | undefined> {
    const raw = await kv.get(storeKey(key));
    if (!raw) return undefined;
    let session: GatewaySession;
    try {
      session = JSON.parse(raw) as GatewaySession;
    } catch {
      return undefined;
    }
    const now = clock.now();
    if (!live(session, now)) return undefined;
    const handle = { key, session };
    cache.set(key, { handle, until: now + cacheMs });
    touch(key, session, now);
    return handle;
  }

  return {
    keyOf,
    find(cookie) {
      if (!broadcast.connected()) return Promise.reject(new StoreUnavailableError('session'));
      if (broadcast.epoch() !== cachedEpoch) {
        cache.clear();
        cachedEpoch = broadcast.epoch();
      }
      const key = keyOf(cookie);
      const now = clock.now();
      const hit = cache.get(key);
      if (hit && hit.until > now) {
        if (!live(hit.handle.session, now)) {
          cache.delete(key);
          return undefined;
        }
        touch(key, hit.handle.session, now);
        return hit.handle;
      }
      if (hit) cache.delete(key);
      return load(key);
    },
    async create(fields) {
      const cookie = randomToken(32);
      const key = keyOf(cookie);
      const now = clock.now();
      const session: GatewaySession = { ...fields, createdAt: now, lastSeenAt: now, expiresAt: now + maxSeconds * 1000 };
      await kv.set(storeKey(key), JSON.stringify(session), ttlOf(session, now));
      if (session.sid) await kv.addToSet(`gw:sid:${session.sid}`, key, maxSeconds);
      await kv.addToSet(subjectIndexKey(session.subject), key, maxSeconds);
      cache.set(key, { handle: { key, session }, until: now + cacheMs });
      return cookie;
    },
    async save(handle) {
      const now = clock.now();
      await kv.set(storeKey(handle.key), JSON.stringify(handle.session), ttlOf(handle.session, now));
      cache.set(handle.key, { handle, until: now + cacheMs });
    },
    async end(keys) {
      if (keys.length === 0) return;
      for (const key of keys) cache.delete(key);
      await kv.delete(...keys.map(storeKey));
      const nonce = randomToken(12);
      const echoed = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        waiting.set(nonce, () => {
          clearTimeout(timer);
          resolve();
        });
      });
      try {
        await broadcast.publish(CHANNEL, JSON.stringify({ nonce, keys }));
        await echoed;
      } finally {
        waiting.delete(nonce);
      }
    },
    keysOfSid: (sid) => kv.setMembers(`gw:sid:${sid}`),
    keysOfSubject: (sub) => kv.setMembers(subjectIndexKey(sub)),
    async close() {
      cache.clear();
      keys.clear();
      // Closing must work while the store is down (shutdown during an outage).
      await unsubscribe().catch((error: unknown) => logger.warn({ err: error }, 'could not unsubscribe from session broadcasts'));
    },
  };
}
