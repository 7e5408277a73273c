/**
 * A person's own gateway sessions, for the admin API's "signed-in devices" (`GET /me/sessions`,
 * `DELETE /me/sessions/{id}`). Runs in whichever process serves the admin API (often not a gateway).
 *
 * - Listing reads the subject's index set and the session records through the key formats of
 *   session-store.ts; expired or vanished entries are skipped.
 * - Each session is shown under an opaque id derived from its store key (itself a hash of the
 *   cookie), so neither the cookie nor the store key leaves the server; tokens are never shown.
 * - Ending one goes through `SessionStore.end`, the path back-channel logout takes: the record is
 *   deleted and the key broadcast, and every gateway process drops it from its cache before the
 *   call resolves. The SessionStore is created on first use (it subscribes to the broadcast).
 */
import type { Broadcast, KeyValueStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import { sha256Hex } from '../../kernel/ids.ts';
import { createSessionStore, sessionIsLive, sessionRecordKey, subjectIndexKey, type GatewaySession, type SessionStore } from './session-store.ts';

/** What a person may see of one of their sessions. */
export interface SessionSummary {
  id: string;
  kind: 'gateway';
  /** Milliseconds since the epoch. */
  createdAt: number;
  lastSeen: number;
  expiresAt: number;
}

export interface SessionListing {
  /** Live gateway sessions of `subject`, newest first. */
  list(subject: string): Promise<SessionSummary[]>;
  /** Ends the session with this id if it belongs to `subject`; false when there is none. */
  end(subject: string, id: string): Promise<boolean>;
  close(): Promise<void>;
}

export interface SessionListingOptions {
  kv: KeyValueStore;
  broadcast: Broadcast;
  clock: Clock;
  logger: Logger;
  idleSeconds: number;
  maxSeconds: number;
}

/** The public id of a session: a one-way function of its store key. */
export function publicSessionId(key: string): string {
  return sha256Hex(`porta-session-id:${key}`).slice(0, 32);
}

export function createSessionListing(options: SessionListingOptions): SessionListing {
  const { kv, clock, idleSeconds } = options;
  let store: Promise<SessionStore> | undefined;

  async function live(subject: string): Promise<Array<{ key: string; session: GatewaySession }>> {
    const keys = await kv.setMembers(subjectIndexKey(subject));
    const now = clock.now();
    const found: Array<{ key: string; session: GatewaySession }> = [];
    for (const key of keys) {
      const raw = await kv.get(sessionRecordKey(key));
      if (!raw) continue;
      let session: GatewaySession;
      try {
        session = JSON.parse(raw) as GatewaySession;
      } catch {
        continue;
      }
      // The index is per subject, but check anyway: a listing must never show someone else's session.
      if (session.subject !== subject || !sessionIsLive(session, now, idleSeconds)) continue;
      found.push({ key, session });
    }
    return found.sort((a, b) => b.session.createdAt - a.session.createdAt);
  }

  return {
    async list(subject) {
      return (await live(subject)).map(({ key, session }) => ({
        id: publicSessionId(key),
        kind: 'gateway',
        createdAt: session.createdAt,
        lastSeen: session.lastSeenAt,
        expiresAt: session.expiresAt,
      }));
    },
    async end(subject, id) {
      const match = (await live(subject)).find(({ key }) => publicSessionId(key) === id);
      if (!match) return false;
      if (!store) {
        const creating = createSessionStore({ ...options, cacheSeconds: 0 });
        store = creating;
        // A failed subscription (store down) is retried on the next call.
        creating.catch(() => {
          if (store === creating) store = undefined;
        });
      }
      await (await store).end([match.key]);
      options.logger.info({ subject }, 'gateway session ended by its owner');
      return true;
    },
    async close() {
      if (store) await (await store.catch(() => undefined))?.close();
    },
  };
}
