/**
 * A BigBlueButton API server for tests, following the API as documented (shared/reference/integrations.md §4):
 * - `/bigbluebutton/api/<call>?<query>&checksum=<hex>`; checksum = hex(HASH(call + query without
 *   `checksum` + secret)), the hash chosen by the checksum's length (40 sha1, 64 sha256, 96 sha384,
 *   128 sha512), compared case-insensitively; a bad one answers HTTP 200 with `FAILED` / `checksumError`;
 * - `create` (meetingID, name, duration, record, meta_*; idempotent: a repeat for a live meeting answers
 *   SUCCESS with `duplicateWarning` and keeps the first parameters); BBB tracks a meeting's length from
 *   `create` and ends it once `duration` minutes passed (`duration` 0 = no limit), measured on the
 *   injected clock: call `tick()` after moving the clock, or any API call notices too;
 * - `join` (role or password; `redirect=false` answers XML, otherwise 302 to the client), `end`
 *   (`sentEndMeetingRequest`), `isMeetingRunning`, `getMeetingInfo` (attendees, metadata, duration,
 *   createTime, running, startTime, endTime, participantCount), `getMeetings`;
 * - `getRecordings` (with `<size>` and `<rawSize>`, filter by meetingID or meta_*), `publishRecordings`,
 *   `deleteRecordings`;
 * - callbacks: on end, GET `meta_endCallbackUrl` with `meetingID` and `recordingmarks` appended; when a
 *   recording is ready (`finishRecording`), POST `signed_parameters=<JWT HS256 signed with the secret>`
 *   to `meta_bbb-recording-ready-url`.
 * Not simulated: breakouts, webhooks, the client itself.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../kernel/clock.ts';

const ALGORITHMS: Record<number, string> = { 40: 'sha1', 64: 'sha256', 96: 'sha384', 128: 'sha512' };

export interface SimAttendee {
  userID: string;
  fullName: string;
  role: 'MODERATOR' | 'VIEWER';
  joinedAt: number;
}

export interface SimMeeting {
  meetingID: string;
  internalMeetingID: string;
  name: string;
  createTime: number;
  duration: number;
  record: boolean;
  metadata: Record<string, string>;
  attendees: SimAttendee[];
  running: boolean;
  ended: boolean;
  forciblyEnded: boolean;
  startTime: number;
  endTime: number;
  params: Record<string, string>;
}

export interface SimRecording {
  recordID: string;
  meetingID: string;
  internalMeetingID: string;
  name: string;
  published: boolean;
  size: number;
  metadata: Record<string, string>;
  startTime: number;
  endTime: number;
}

export interface BbbSimulator {
  url: string;
  port: number;
  secret: string;
  server: Server;
  /** Every meeting ever created (ended ones stay, like BBB keeps them for a while). */
  meetings(): SimMeeting[];
  meeting(meetingID: string): SimMeeting | undefined;
  recordings(): SimRecording[];
  /** Query strings received per call name, as sent (for asserting what the gateway forwarded). */
  received: Array<{ call: string; query: string }>;
  /** Ends meetings whose duration passed on the clock; fires their end callbacks. */
  tick(): Promise<void>;
  /** A user leaves. */
  leave(meetingID: string, userID: string): void;
  /** Processing finished: adds a recording of `size` bytes and fires the recording-ready callback. */
  finishRecording(meetingID: string, size: number): Promise<SimRecording>;
  close(): Promise<void>;
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function xml(returncode: 'SUCCESS' | 'FAILED', body: string): string {
  return `<response><returncode>${returncode}</returncode>${body}</response>`;
}

function failed(messageKey: string, message: string): string {
  return xml('FAILED', `<messageKey>${messageKey}</messageKey><message>${escapeXml(message)}</message>`);
}

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function meetingXml(m: SimMeeting): string {
  const attendees = m.attendees
    .map((a) => `<attendee><userID>${escapeXml(a.userID)}</userID><fullName>${escapeXml(a.fullName)}</fullName><role>${a.role}</role><isPresenter>false</isPresenter><isListeningOnly>false</isListeningOnly><hasJoinedVoice>false</hasJoinedVoice><hasVideo>false</hasVideo><clientType>HTML5</clientType></attendee>`)
    .join('');
  const metadata = Object.entries(m.metadata).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
  return (
    `<meetingName>${escapeXml(m.name)}</meetingName><meetingID>${escapeXml(m.meetingID)}</meetingID><internalMeetingID>${m.internalMeetingID}</internalMeetingID>` +
    `<createTime>${m.createTime}</createTime><createDate>${new Date(m.createTime).toUTCString()}</createDate><voiceBridge>70000</voiceBridge><dialNumber>613-555-1234</dialNumber>` +
    `<running>${m.running}</running><duration>${m.duration}</duration><hasUserJoined>${m.attendees.length > 0 || m.startTime > 0}</hasUserJoined><recording>${m.record}</recording>` +
    `<hasBeenForciblyEnded>${m.forciblyEnded}</hasBeenForciblyEnded><startTime>${m.startTime}</startTime><endTime>${m.endTime}</endTime>` +
    `<participantCount>${m.attendees.length}</participantCount><listenerCount>0</listenerCount><voiceParticipantCount>0</voiceParticipantCount><videoCount>0</videoCount>` +
    `<maxUsers>0</maxUsers><moderatorCount>${m.attendees.filter((a) => a.role === 'MODERATOR').length}</moderatorCount>` +
    `<attendees>${attendees}</attendees><metadata>${metadata}</metadata><isBreakout>false</isBreakout>`
  );
}

export interface BbbSimulatorOptions {
  secret: string;
  clock: Clock;
  /** False: behave like a server that does not end meetings at `duration` (to test the sweeper). */
  honourDuration?: boolean;
}

export async function startBbbSimulator(options: BbbSimulatorOptions): Promise<BbbSimulator> {
  const { secret, clock } = options;
  const meetings = new Map<string, SimMeeting>();
  const history: SimMeeting[] = [];
  const recordings: SimRecording[] = [];
  const received: Array<{ call: string; query: string }> = [];
  const pendingCallbacks: Array<Promise<unknown>> = [];

  const fire = (url: string, init?: RequestInit) => {
    const p = fetch(url, init).then((r) => r.arrayBuffer()).catch(() => undefined);
    pendingCallbacks.push(p);
  };

  function endMeeting(m: SimMeeting, forcibly: boolean): void {
    if (m.ended) return;
    m.running = false;
    m.ended = true;
    m.forciblyEnded = forcibly;
    m.endTime = clock.now();
    m.attendees = [];
    const callback = m.metadata.endcallbackurl ?? m.params['meta_endCallbackUrl'];
    if (callback) {
      const u = new URL(callback);
      u.searchParams.set('meetingID', m.meetingID);
      u.searchParams.set('recordingmarks', 'false');
      fire(u.href);
    }
  }

  function expire(): void {
    if (options.honourDuration === false) return;
    const now = clock.now();
    for (const m of meetings.values()) {
      if (!m.ended && m.duration > 0 && now >= m.createTime + m.duration * 60_000) endMeeting(m, false);
    }
  }

  function verify(call: string, rawQuery: string): boolean {
    const params = rawQuery === '' ? [] : rawQuery.split('&');
    const checksum = params.find((p) => p.startsWith('checksum='))?.slice('checksum='.length);
    if (!checksum) return false;
    const algorithm = ALGORITHMS[checksum.length];
    if (!algorithm) return false;
    const unsigned = params.filter((p) => !p.startsWith('checksum=')).join('&');
    const expected = createHash(algorithm).update(call + unsigned + secret).digest('hex');
    return expected === checksum.toLowerCase();
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const rawQuery = q < 0 ? '' : raw.slice(q + 1);
    const match = /^\/bigbluebutton\/api\/?(.*)$/.exec(path);
    const send = (body: string): void => {
      res.writeHead(200, { 'content-type': 'text/xml;charset=utf-8' }).end(body);
    };
    if (!match) {
      res.writeHead(404).end();
      return;
    }
    const call = match[1];
    if (call === '') {
      send(xml('SUCCESS', '<version>2.0</version><apiVersion>2.0</apiVersion><bbbVersion>2.7.0</bbbVersion>'));
      return;
    }
    received.push({ call, query: rawQuery });
    if (!verify(call, rawQuery)) {
      send(failed('checksumError', 'Checksums do not match'));
      return;
    }
    expire();
    const params = new URLSearchParams(rawQuery);
    const get = (k: string) => params.get(k) ?? undefined;
    const meetingID = get('meetingID');
    const current = meetingID === undefined ? undefined : meetings.get(meetingID);
    const live = current && !current.ended ? current : undefined;

    switch (call) {
      case 'create': {
        if (!meetingID) return send(failed('missingParamMeetingID', 'You must specify a meeting ID for the meeting.'));
        if (live) {
          return send(xml('SUCCESS', `<meetingID>${escapeXml(live.meetingID)}</meetingID><internalMeetingID>${live.internalMeetingID}</internalMeetingID><createTime>${live.createTime}</createTime><duration>${live.duration}</duration><hasBeenForciblyEnded>false</hasBeenForciblyEnded><messageKey>duplicateWarning</messageKey><message>This conference was already in existence and may currently be in progress.</message>`));
        }
        const all = Object.fromEntries(params.entries());
        const metadata: Record<string, string> = {};
        for (const [k, v] of params.entries()) if (k.startsWith('meta_')) metadata[k.slice(5).toLowerCase()] = v;
        const durationRaw = get('duration');
        const duration = durationRaw !== undefined && /^-?\d+$/.test(durationRaw) ? Math.max(0, Number(durationRaw)) : 0;
        const m: SimMeeting = {
          meetingID,
          internalMeetingID: `${createHash('sha1').update(meetingID).digest('hex')}-${clock.now()}`,
          name: get('name') ?? meetingID,
          createTime: clock.now(),
          duration,
          record: get('record') === 'true',
          metadata,
          attendees: [],
          running: false,
          ended: false,
          forciblyEnded: false,
          startTime: 0,
          endTime: 0,
          params: all,
        };
        meetings.set(meetingID, m);
        history.push(m);
        return send(xml('SUCCESS', `<meetingID>${escapeXml(m.meetingID)}</meetingID><internalMeetingID>${m.internalMeetingID}</internalMeetingID><parentMeetingID>bbb-none</parentMeetingID><attendeePW>ap</attendeePW><moderatorPW>mp</moderatorPW><createTime>${m.createTime}</createTime><voiceBridge>70000</voiceBridge><dialNumber>613-555-1234</dialNumber><createDate>${new Date(m.createTime).toUTCString()}</createDate><hasUserJoined>false</hasUserJoined><duration>${m.duration}</duration><hasBeenForciblyEnded>false</hasBeenForciblyEnded><messageKey></messageKey><message></message>`));
      }
      case 'join': {
        if (!live) return send(failed('invalidMeetingIdentifier', 'The meeting ID that you supplied did not match any existing meetings'));
        const fullName = get('fullName');
        if (!fullName) return send(failed('missingParamFullName', 'You must specify a name for the attendee who will be joining the meeting.'));
        const role = (get('role') ?? (get('password') === 'mp' ? 'MODERATOR' : 'VIEWER')).toUpperCase() === 'MODERATOR' ? 'MODERATOR' : 'VIEWER';
        const userID = get('userID') ?? `w_${randomUUID().slice(0, 8)}`;
        live.attendees.push({ userID, fullName, role, joinedAt: clock.now() });
        live.running = true;
        if (live.startTime === 0) live.startTime = clock.now();
        if (get('redirect') === 'false') {
          return send(xml('SUCCESS', `<messageKey>successfullyJoined</messageKey><message>You have joined successfully.</message><meeting_id>${live.internalMeetingID}</meeting_id><user_id>${escapeXml(userID)}</user_id><auth_token>t</auth_token><session_token>s</session_token><url>${escapeXml(`http://bbb.test/html5client/join?sessionToken=s`)}</url>`));
        }
        res.writeHead(302, { location: 'http://bbb.test/html5client/join?sessionToken=s' }).end();
        return;
      }
      case 'end': {
        if (!live) return send(failed('notFound', 'We could not find a meeting with that meeting ID - perhaps the meeting is not yet running?'));
        endMeeting(live, true);
        return send(xml('SUCCESS', '<messageKey>sentEndMeetingRequest</messageKey><message>A request to end the meeting was sent. Please wait a few seconds, and then use the getMeetingInfo or isMeetingRunning API calls to verify that it was ended.</message>'));
      }
      case 'isMeetingRunning':
        return send(xml('SUCCESS', `<running>${Boolean(live?.running)}</running>`));
      case 'getMeetingInfo': {
        if (!current) return send(failed('notFound', 'We could not find a meeting with that meeting ID'));
        return send(xml('SUCCESS', meetingXml(current)));
      }
      case 'getMeetings': {
        const list = [...meetings.values()].filter((m) => !m.ended);
        if (list.length === 0) return send(xml('SUCCESS', '<meetings/><messageKey>noMeetings</messageKey><message>no meetings were found on this server</message>'));
        return send(xml('SUCCESS', `<meetings>${list.map((m) => `<meeting>${meetingXml(m)}</meeting>`).join('')}</meetings>`));
      }
      case 'getRecordings': {
        const ids = get('meetingID')?.split(',');
        const recordIds = get('recordID')?.split(',');
        const metaFilters = [...params.entries()].filter(([k]) => k.startsWith('meta_')).map(([k, v]) => [k.slice(5).toLowerCase(), v] as const);
        const list = recordings.filter(
          (r) => (!ids || ids.includes(r.meetingID)) && (!recordIds || recordIds.some((id) => r.recordID.startsWith(id))) && metaFilters.every(([k, v]) => r.metadata[k] === v),
        );
        if (list.length === 0) return send(xml('SUCCESS', '<recordings></recordings><messageKey>noRecordings</messageKey><message>There are no recordings for the meeting(s).</message>'));
        const body = list
          .map((r) => {
            const metadata = Object.entries(r.metadata).map(([k, v]) => `<${k}>${escapeXml(v)}</${k}>`).join('');
            return `<recording><recordID>${r.recordID}</recordID><meetingID>${escapeXml(r.meetingID)}</meetingID><internalMeetingID>${r.internalMeetingID}</internalMeetingID><name>${escapeXml(r.name)}</name><isBreakout>false</isBreakout><published>${r.published}</published><state>${r.published ? 'published' : 'unpublished'}</state><startTime>${r.startTime}</startTime><endTime>${r.endTime}</endTime><participants>1</participants><rawSize>${r.size * 2}</rawSize><metadata>${metadata}</metadata><size>${r.size}</size><playback><format><type>presentation</type><url>http://bbb.test/playback/presentation/2.3/${r.recordID}</url><processingTime>1000</processingTime><length>1</length><size>${r.size}</size></format></playback></recording>`;
          })
          .join('');
        return send(xml('SUCCESS', `<recordings>${body}</recordings>`));
      }
      case 'publishRecordings': {
        const recordIds = get('recordID')?.split(',') ?? [];
        const publish = get('publish') === 'true';
        const hit = recordings.filter((r) => recordIds.includes(r.recordID));
        if (hit.length === 0) return send(failed('notFound', 'We could not find recordings'));
        for (const r of hit) r.published = publish;
        return send(xml('SUCCESS', `<published>${publish}</published>`));
      }
      case 'deleteRecordings': {
        const recordIds = get('recordID')?.split(',') ?? [];
        const before = recordings.length;
        for (let i = recordings.length - 1; i >= 0; i--) if (recordIds.includes(recordings[i].recordID)) recordings.splice(i, 1);
        if (before === recordings.length) return send(failed('notFound', 'We could not find recordings'));
        return send(xml('SUCCESS', '<deleted>true</deleted>'));
      }
      default:
        return send(failed('unsupportedRequest', 'This request is not supported.'));
    }
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    secret,
    server,
    received,
    meetings: () => [...history],
    meeting: (id) => meetings.get(id),
    recordings: () => [...recordings],
    async tick() {
      expire();
      await Promise.all(pendingCallbacks.splice(0));
    },
    leave(meetingID, userID) {
      const m = meetings.get(meetingID);
      if (m) m.attendees = m.attendees.filter((a) => a.userID !== userID);
    },
    async finishRecording(meetingID, size) {
      const m = meetings.get(meetingID);
      if (!m) throw new Error(`no meeting ${meetingID}`);
      const r: SimRecording = {
        recordID: `${m.internalMeetingID}`,
        meetingID,
        internalMeetingID: m.internalMeetingID,
        name: m.name,
        published: true,
        size,
        metadata: { ...m.metadata },
        startTime: m.createTime,
        endTime: m.endTime || clock.now(),
      };
      recordings.push(r);
      const url = m.metadata['bbb-recording-ready-url'];
      if (url) {
        const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
        const payload = base64url(JSON.stringify({ meeting_id: meetingID, record_id: r.recordID }));
        const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
        fire(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `signed_parameters=${header}.${payload}.${signature}` });
      }
      await Promise.all(pendingCallbacks.splice(0));
      return r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
