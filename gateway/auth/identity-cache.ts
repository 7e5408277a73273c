/**
 * The identity of a subject (plans, collectives, grants: what the policies decide on), looked up
 * once and reused for `identityCacheSeconds`, so the hot path does not ask the directory per request.
 */
import type { Clock } from '../../kernel/clock.ts';
import type { Claims } from '../types.ts';

export interface IdentityCache<Identity> {
  of(claims: Claims | undefined): Identity | Promise<Identity>;
  forget(subject: string): void;
}

export function createIdentityCache<Identity>(options: {
  identityOf: (claims: Claims | undefined) => Promise<Identity>;
  clock: Clock;
  ttlSeconds: number;
  maxEntries?: number;
}): IdentityCache<Identity> {
  const { identityOf, clock } = options;
  const ttlMs = options.ttlSeconds * 1000;
  const maxEntries = options.maxEntries ?? 50_000;
  const entries = new Map<string, { identity: Identity; until: number }>();
  const pending = new Map<string, Promise<Identity>>();
  let anonymous: { identity: Identity; until: number } | undefined;

  function load(key: string | undefined, claims: Claims | undefined): Promise<Identity> {
    const cacheKey = key ?? '';
    const inflight = pending.get(cacheKey);
    if (inflight) return inflight;
    const promise = identityOf(claims)
      .then((identity) => {
        const entry = { identity, until: clock.now() + ttlMs };
        if (key === undefined) anonymous = entry;
        else {
          if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
          entries.set(key, entry);
        }
        return identity;
      })
      .finally(() => pending.delete(cacheKey));
    pending.set(cacheKey, promise);
    return promise;
  }

  return {
    of(claims) {
      const entry = claims ? entries.get(claims.sub) : anonymous;
      if (entry && entry.until > clock.now()) return entry.identity;
      return load(claims?.sub, claims);
    },
    forget(subject) {
      entries.delete(subject);
    },
  };
}
