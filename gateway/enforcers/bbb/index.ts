/**
 * The `bbb` service enforcer: the gateway fronts BigBlueButton's API for Greenlight (or any front
 * end). The front end signs with a secret the gateway gives it; the gateway verifies that checksum,
 * applies the host's plan and re-signs with BigBlueButton's own secret, so no front end can reach
 * BigBlueButton around the limits.
 *
 * - Bad checksums, and replays of state-changing calls within `replayWindowSeconds`, get
 *   BigBlueButton's own `FAILED` / `checksumError` answer.
 * - `create` for a host whose plan limits meetings: every case-variant of `duration` is dropped and
 *   one `duration` appended (the plan's maximum, or what is left of the host's minutes for the day,
 *   whichever is less); `record=false` when the plan has no recording storage; `meta_porta-owner`
 *   names the host (any such parameter sent by the caller is dropped first).
 * - `join` of a meeting past its limit is refused with a page (or FAILED XML for `redirect=false`).
 * - The sweeper (sweeper.ts) ends meetings past their limit, counts minutes and gives back daily
 *   minutes not used; recording storage is checked there too (recordings.ts).
 *
 * Who hosts: the signed-in account of the request (`subject`), or `ownerOf` (for Greenlight, whose
 * server calls `create` without a user: see docs/limits.md). A host that cannot be resolved gets
 * `unknownHostLimits` (by default the free plan's): fail closed.
 */
import type { Clock } from '../../../kernel/clock.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { silentLogger } from '../../../kernel/logger.ts';
import type { CounterStore, DocumentStore, KeyValueStore } from '../../../store/types.ts';
import { PASS, type EnforcedLimits, type EnforcedRequest, type Outcome, type ServiceEnforcer } from '../types.ts';
import { sign, verify, type ChecksumAlgorithm } from './checksum.ts';
import { BbbQuery } from './query.ts';
import { bbbFailed, checksumError, meetingPage } from './answers.ts';
import { MeetingBook, dailyMinutesKey, dayOf, type TrackedMeeting } from './meeting-book.ts';
import { BbbApi, OWNER_META } from './api.ts';
import { MeetingSweeper, expiredMarkerKey } from './sweeper.ts';
import type { UsageInput } from '../../../metering/types.ts';

export interface HostLimits extends EnforcedLimits {
  /** Plan named in messages. */
  plan: string;
}

export interface MeetingsEnforcerOptions {
  service: { id: string; name: string };
  /** BigBlueButton's base URL (the API is under `/bigbluebutton/api/`), for the enforcer's own calls. */
  upstream: string;
  /** The secret the front end (Greenlight's BIGBLUEBUTTON_SECRET) signs with. */
  frontSecret: string;
  /** BigBlueButton's own shared secret. */
  bbbSecret: string;
  /** Algorithm of the re-signed call: the caller's (`same`, default) or a fixed one. */
  upstreamAlgorithm?: 'same' | ChecksumAlgorithm;
  /** Algorithms accepted from the front end (bbb-web's supportedChecksumAlgorithms). Default: all four. */
  acceptedAlgorithms?: ChecksumAlgorithm[];
  kv: KeyValueStore;
  counters: CounterStore;
  documents: DocumentStore;
  clock: Clock;
  /** The host's limits on this service. */
  limitsOf(owner: string): Promise<HostLimits>;
  /** The host of a `create` call that carries no signed-in account (Greenlight's server). */
  ownerOf?(request: EnforcedRequest, query: BbbQuery): Promise<string | undefined>;
  /** Limits for a host that could not be resolved. Default: 60 minutes, no recording. */
  unknownHostLimits?: HostLimits;
  /** metering's `recorder.record`: meeting minutes when a meeting ends. */
  recordUsage?(usage: UsageInput): boolean;
  /** Tells a host about recordings unpublished for lack of storage. */
  notify?(owner: string, message: string): void | Promise<void>;
  /** Seconds a checksum of a state-changing call is remembered. Default 60. */
  replayWindowSeconds?: number;
  logger?: Logger;
}

/** Calls that change state: a replay of one is refused. */
const STATE_CHANGING = new Set(['create', 'end', 'deleteRecordings', 'publishRecordings', 'updateRecordings', 'hooks/create', 'hooks/destroy', 'insertDocument', 'sendChatMessage']);
const ALL: ChecksumAlgorithm[] = ['sha1', 'sha256', 'sha384', 'sha512'];
const RECORDING_FLAGS = ['record', 'autoStartRecording', 'allowStartStopRecording'];

export const FREE_HOST: HostLimits = { plan: 'free', plans: ['free'], storage: 0, meetingMinutes: 60, hostedMinutesPerDay: null, recordingStorage: 0 };

export function createMeetingsEnforcer(options: MeetingsEnforcerOptions): ServiceEnforcer & { book: MeetingBook; sweeper: MeetingSweeper } {
  const logger = options.logger ?? silentLogger;
  const { kv, counters, clock } = options;
  const book = new MeetingBook(options.documents);
  const api = new BbbApi({ upstream: options.upstream, secret: options.bbbSecret, algorithm: options.upstreamAlgorithm && options.upstreamAlgorithm !== 'same' ? options.upstreamAlgorithm : 'sha256' });
  const sweeper = new MeetingSweeper({ service: options.service, api, book, counters, kv, clock, limitsOf: options.limitsOf, recordUsage: options.recordUsage, notify: options.notify, logger });
  const accepted = options.acceptedAlgorithms ?? ALL;
  const replayWindow = options.replayWindowSeconds ?? 60;
  const unknownHost = options.unknownHostLimits ?? FREE_HOST;

  function resign(path: string, call: string, query: BbbQuery, callerAlgorithm: ChecksumAlgorithm): string {
    const unsigned = query.dropAnyCase('checksum').toString();
    const algorithm = options.upstreamAlgorithm && options.upstreamAlgorithm !== 'same' ? options.upstreamAlgorithm : callerAlgorithm;
    const checksum = sign(call, unsigned, options.bbbSecret, algorithm);
    return `${path}?${unsigned}${unsigned ? '&' : ''}checksum=${checksum}`;
  }

  async function admit(request: EnforcedRequest): Promise<Outcome> {
    const match = /\/bigbluebutton\/api\/(.+)$/.exec(request.path);
    if (!match) return PASS;
    const call = match[1];
    const query = new BbbQuery(request.query);
    // The checksum signs the query exactly as sent, minus the checksum parameter.
    const checksum = query.get('checksum');
    const unsigned = new BbbQuery(request.query).dropAnyCase('checksum').toString();
    const algorithm = checksum === undefined ? undefined : verify(call, unsigned, checksum, options.frontSecret, accepted);
    if (!algorithm || checksum === undefined) return { refuse: checksumError() };
    if (STATE_CHANGING.has(call)) {
      const fresh = await kv.setIfAbsent(`bbb:seen:${checksum.toLowerCase()}`, '1', replayWindow);
      // Greenlight sends the very same `create` each time a moderator starts a room; repeating it for
      // a meeting that still runs only gets `duplicateWarning`. Replaying it once the meeting ended
      // would start a new one, and is refused like every other replay.
      if (!fresh && !(call === 'create' && (await stillRunning(query.get('meetingID'))))) {
        logger.warn({ service: options.service.id, call }, 'bbb: replayed checksum refused');
        return { refuse: checksumError() };
      }
    }
    if (call === 'create') return create(request, call, query, algorithm);
    if (call === 'join') {
      const refusal = await refuseExpiredJoin(query);
      if (refusal) return refusal;
    }
    return { admit: { url: resign(request.path, call, query, algorithm) } };
  }

  async function stillRunning(meetingID: string | undefined): Promise<boolean> {
    if (meetingID === undefined) return false;
    const tracked = await book.get(meetingID);
    if (!tracked || (tracked.grantedMinutes > 0 && clock.now() >= tracked.createdAt + tracked.grantedMinutes * 60_000)) return false;
    return sweeper.refresh(tracked);
  }

  async function refuseExpiredJoin(query: BbbQuery): Promise<Outcome | undefined> {
    const meetingID = query.get('meetingID');
    if (meetingID === undefined) return undefined;
    const tracked = await book.get(meetingID);
    let expired: { minutes: number; plan: string } | undefined;
    if (tracked) {
      if (tracked.grantedMinutes > 0 && clock.now() >= tracked.createdAt + tracked.grantedMinutes * 60_000) expired = { minutes: tracked.grantedMinutes, plan: tracked.plan };
    } else {
      // Settled by the sweeper already: the marker it left says why the meeting ended.
      const marker = await kv.get(expiredMarkerKey(meetingID));
      if (marker) expired = JSON.parse(marker) as { minutes: number; plan: string };
    }
    if (!expired) return undefined;
    const message = `This meeting has ended: it reached the ${expired.minutes}-minute limit of its host's plan "${expired.plan}". The host can start a new meeting, or choose a plan without a time limit.`;
    if (query.get('redirect') === 'false') return { refuse: bbbFailed('meetingExpired', message) };
    return { refuse: meetingPage(403, 'This meeting has ended', [message]) };
  }

  async function create(request: EnforcedRequest, call: string, query: BbbQuery, algorithm: ChecksumAlgorithm): Promise<Outcome> {
    const meetingID = query.get('meetingID');
    const owner = request.subject ?? (options.ownerOf ? await options.ownerOf(request, query) : undefined);
    const limits = owner === undefined ? unknownHost : await options.limitsOf(owner);
    const now = clock.now();

    // A tracked meeting that still runs: this is a repeat `create` (another moderator starting it);
    // BigBlueButton answers duplicateWarning and keeps the first parameters, so nothing more is taken.
    // One that ended (end-and-recreate) is settled first, so its unused minutes come back and the new
    // meeting takes its own from the day's allowance.
    let tracked = meetingID === undefined ? undefined : await book.get(meetingID);
    if (tracked !== undefined) {
      const expired = tracked.grantedMinutes > 0 && now >= tracked.createdAt + tracked.grantedMinutes * 60_000;
      if (expired) {
        await api.end(tracked.meetingID).catch(() => false);
        await sweeper.settle(tracked, now);
        tracked = undefined;
      } else if (!(await sweeper.refresh(tracked))) tracked = undefined;
    }
    const stillRunning = tracked !== undefined;

    let granted = 0;
    let reserved = 0;
    const day = dayOf(now);
    if (tracked !== undefined) {
      granted = tracked.grantedMinutes;
    } else {
      const perMeeting = limits.meetingMinutes;
      const perDay = limits.hostedMinutesPerDay;
      if (perDay !== null && owner !== undefined) {
        const used = await counters.get(dailyMinutesKey(owner, day));
        const left = perDay - used;
        granted = perMeeting === null ? left : Math.min(perMeeting, left);
        if (granted <= 0) {
          return { refuse: bbbFailed('dailyLimitReached', `The host has used all ${perDay} minutes of meetings that the plan "${limits.plan}" allows per day. Meetings can be hosted again tomorrow, or with a plan without this limit.`) };
        }
        const reservation = await counters.reserve(dailyMinutesKey(owner, day), granted, perDay, 0, 2 * 86_400);
        if (!reservation.granted) return { refuse: bbbFailed('dailyLimitReached', `The host has no minutes of meetings left for today on the plan "${limits.plan}".`) };
        reserved = granted;
      } else if (perMeeting !== null) {
        granted = perMeeting;
      }
    }

    if (granted > 0) query.dropAnyCase('duration').append('duration', String(granted));
    if (limits.recordingStorage === 0) {
      for (const flag of RECORDING_FLAGS) query.dropAnyCase(flag);
      query.append('record', 'false');
    }
    query.dropAnyCase(`meta_${OWNER_META}`);
    if (owner !== undefined) query.append(`meta_${OWNER_META}`, owner);

    if (meetingID !== undefined && !stillRunning) await kv.delete(expiredMarkerKey(meetingID));
    if (meetingID !== undefined && owner !== undefined && !stillRunning) {
      const meeting: TrackedMeeting = { meetingID, owner, plan: limits.plan, createdAt: now, grantedMinutes: granted, reservedMinutes: reserved, day, participantMinutes: 0, lastPolledAt: now };
      await book.put(meeting);
    }
    return { admit: { url: resign(request.path, call, query, algorithm) } };
  }

  return { admit, book, sweeper };
}
