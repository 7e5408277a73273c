/**
 * Who hosts a meeting Greenlight creates. Greenlight's server calls `create` itself, with no user in
 * the call; but the person's browser asked for it a moment before through the gateway, with the SSO
 * session: `POST /api/v1/meetings/<friendly_id>/start`. The gateway notes each such start (who,
 * which room, when) in the shared store; the `create` that follows within `windowMs` is attributed
 * to that person.
 *
 * With several starts pending at once, the room learned from earlier meetings
 * (`friendly_id` → `meetingID`, remembered after each unambiguous match) picks the right one; if
 * that does not settle it, nobody is picked and the meetings enforcer applies the limits of an
 * unknown host (fail closed).
 */
import type { Clock } from '../../../kernel/clock.ts';
import type { DocumentStore, KeyValueStore } from '../../../store/types.ts';
import { newId } from '../../../kernel/ids.ts';
import { PASS, type EnforcedRequest, type Outcome, type ServiceEnforcer } from '../types.ts';
import type { BbbQuery } from './query.ts';

interface PendingStart {
  subject: string;
  room: string;
  at: number;
}

const STARTS = 'bbb-greenlight-starts';
const START_PATH = /\/api\/v1\/meetings\/([^/]+)\/start$/;

export class GreenlightStarts {
  private readonly documents: DocumentStore;
  private readonly kv: KeyValueStore;
  private readonly clock: Clock;
  private readonly windowMs: number;

  constructor(options: { documents: DocumentStore; kv: KeyValueStore; clock: Clock; windowMs?: number }) {
    this.documents = options.documents;
    this.kv = options.kv;
    this.clock = options.clock;
    this.windowMs = options.windowMs ?? 15_000;
  }

  /** An enforcer for the Greenlight service itself: notes starts, lets everything through. */
  readonly observer: ServiceEnforcer = {
    admit: async (request: EnforcedRequest): Promise<Outcome> => {
      const match = START_PATH.exec(request.path);
      if (request.method === 'POST' && match && request.subject !== undefined) {
        const start: PendingStart = { subject: request.subject, room: decodeURIComponent(match[1]), at: this.clock.now() };
        await this.documents.write([{ collection: STARTS, id: `${start.at}-${newId()}`, doc: start }]);
      }
      return PASS;
    },
  };

  /** For `createMeetingsEnforcer({ ownerOf })`. */
  readonly ownerOf = async (_request: EnforcedRequest, query: BbbQuery): Promise<string | undefined> => {
    const meetingID = query.get('meetingID');
    const now = this.clock.now();
    const all = await this.documents.list<PendingStart>(STARTS);
    const stale = all.filter((e) => now - e.doc.at > this.windowMs);
    const pending = all.filter((e) => now - e.doc.at <= this.windowMs);
    let chosen = pending.length === 1 ? pending[0] : undefined;
    if (!chosen && pending.length > 1 && meetingID !== undefined) {
      const known = await Promise.all(pending.map(async (e) => ((await this.kv.get(`bbb:room:${e.doc.room}`)) === meetingID ? e : undefined)));
      const matches = known.filter((e) => e !== undefined);
      chosen = matches.length === 1 ? matches[0] : undefined;
    }
    const changes: Array<{ collection: string; id: string; doc: undefined }> = stale.map((e) => ({ collection: STARTS, id: e.id, doc: undefined }));
    if (chosen) {
      changes.push({ collection: STARTS, id: chosen.id, doc: undefined });
      if (meetingID !== undefined) await this.kv.set(`bbb:room:${chosen.doc.room}`, meetingID, 90 * 86_400);
    }
    if (changes.length > 0) await this.documents.write(changes);
    return chosen?.doc.subject;
  };
}
