/**
 * Meeting limits on BigBlueButton, through a real proxy to the BigBlueButton simulator, on a manual
 * clock: nothing waits for real minutes.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { createHash } from 'node:crypto';
import { ManualClock } from '../../kernel/clock.ts';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { createMeetingsEnforcer, type HostLimits } from '../../gateway/enforcers/bbb/index.ts';
import type { UsageInput } from '../../metering/types.ts';
import { GreenlightStarts } from '../../gateway/enforcers/bbb/greenlight.ts';
import { startBbbSimulator, type BbbSimulator } from '../simulators/bbb-server.ts';
import { startEnforcedProxy, type EnforcedProxy } from './enforced-proxy.ts';
import { call, type Reply } from './http-client.ts';

const FRONT_SECRET = 'front-end-secret-given-by-porta';
const BBB_SECRET = '639259d4-9dd8-4b25-bf01-95f9567eaf4b';
const GiB = 1024 ** 3;
const MINUTE = 60_000;

const PLANS: Record<string, HostLimits> = {
  free: { plan: 'free', plans: ['free'], storage: 0, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0 },
  supporter: { plan: 'meetings-supporter', plans: ['free', 'meetings-supporter'], storage: 0, meetingMinutes: null, hostedMinutesPerDay: null, recordingStorage: GiB },
};
const planOf = (owner: string) => (owner.startsWith('sup') ? PLANS.supporter : PLANS.free);

interface World {
  clock: ManualClock;
  bbb: BbbSimulator;
  stores: EmbeddedStores;
  proxy: EnforcedProxy;
  enforcer: ReturnType<typeof createMeetingsEnforcer>;
  usage: UsageInput[];
  notices: Array<{ owner: string; message: string }>;
  greenlight: GreenlightStarts;
  close(): Promise<void>;
}

async function world(options: { honourDuration?: boolean } = {}): Promise<World> {
  const clock = new ManualClock(Date.UTC(2026, 2, 2, 9, 0, 0));
  const bbb = await startBbbSimulator({ secret: BBB_SECRET, clock, honourDuration: options.honourDuration });
  const stores = new EmbeddedStores({ path: ':memory:', clock });
  const usage: UsageInput[] = [];
  const notices: Array<{ owner: string; message: string }> = [];
  const greenlight = new GreenlightStarts({ documents: stores.documents, kv: stores.kv, clock });
  const enforcer = createMeetingsEnforcer({
    ownerOf: greenlight.ownerOf,
    service: { id: 'meetings', name: 'Meetings' },
    upstream: bbb.url,
    frontSecret: FRONT_SECRET,
    bbbSecret: BBB_SECRET,
    kv: stores.kv,
    counters: stores.counters,
    documents: stores.documents,
    clock,
    limitsOf: async (owner) => planOf(owner),
    recordUsage: (u) => {
      usage.push(u);
      return true;
    },
    notify: (owner, message) => {
      notices.push({ owner, message });
    },
  });
  const proxy = await startEnforcedProxy({ upstream: bbb.url, enforcer });
  return {
    clock,
    bbb,
    stores,
    proxy,
    enforcer,
    usage,
    notices,
    greenlight,
    async close() {
      await proxy.close();
      await bbb.close();
      await stores.close();
    },
  };
}

/** Signs like a front end (Greenlight signs SHA-1) with the secret Porta gave it. */
function signed(callName: string, query: string, secret = FRONT_SECRET, algorithm = 'sha1'): string {
  const checksum = createHash(algorithm).update(callName + query + secret).digest('hex');
  return `${query}${query ? '&' : ''}checksum=${checksum}`;
}

function api(w: World, callName: string, query: string, host?: string, options: { secret?: string; algorithm?: string; accept?: string } = {}): Promise<Reply> {
  const headers: Record<string, string> = host ? { 'x-test-user': host } : {};
  if (options.accept) headers.accept = options.accept;
  return call(`${w.proxy.url}/bigbluebutton/api/${callName}?${signed(callName, query, options.secret, options.algorithm)}`, { method: 'GET', headers });
}

const xmlTag = (text: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(text)?.[1];

describe('checksums', () => {
  let w: World;
  beforeAll(async () => (w = await world()));
  afterAll(async () => w.close());

  it('accepts SHA-1, SHA-256, SHA-384 and SHA-512 (by length, any letter case) and re-signs for BigBlueButton', async () => {
    for (const algorithm of ['sha1', 'sha256', 'sha384', 'sha512']) {
      const reply = await api(w, 'isMeetingRunning', `meetingID=m-${algorithm}`, undefined, { algorithm });
      expect(xmlTag(reply.text, 'returncode')).toBe('SUCCESS');
    }
    const query = 'meetingID=upper';
    const upper = createHash('sha256').update(`isMeetingRunning${query}${FRONT_SECRET}`).digest('hex').toUpperCase();
    const reply = await call(`${w.proxy.url}/bigbluebutton/api/isMeetingRunning?${query}&checksum=${upper}`, { method: 'GET' });
    expect(xmlTag(reply.text, 'returncode')).toBe('SUCCESS');
  });

  it('answers a bad checksum with BigBlueButton\'s FAILED checksumError and forwards nothing', async () => {
    const before = w.bbb.received.length;
    const tampered = await call(`${w.proxy.url}/bigbluebutton/api/create?${signed('create', 'meetingID=x&name=X')}`.replace('name=X', 'name=Y'), { method: 'GET' });
    expect(tampered.status).toBe(200);
    expect(xmlTag(tampered.text, 'returncode')).toBe('FAILED');
    expect(xmlTag(tampered.text, 'messageKey')).toBe('checksumError');
    // Signed with BigBlueButton's own secret (a front end trying to go around the gateway): refused too.
    const bypass = await api(w, 'create', 'meetingID=y&name=Y&duration=0', 'free-ann', { secret: BBB_SECRET });
    expect(xmlTag(bypass.text, 'messageKey')).toBe('checksumError');
    const missing = await call(`${w.proxy.url}/bigbluebutton/api/getMeetings`, { method: 'GET' });
    expect(xmlTag(missing.text, 'messageKey')).toBe('checksumError');
    expect(w.bbb.received.length).toBe(before);
  });

  it('refuses a replayed state-changing call, and a replayed create once its meeting ended', async () => {
    const create = `${w.proxy.url}/bigbluebutton/api/create?${signed('create', 'meetingID=replay&name=Replay')}`;
    const headers = { 'x-test-user': 'free-rex' };
    expect(xmlTag((await call(create, { method: 'GET', headers })).text, 'returncode')).toBe('SUCCESS');
    // Greenlight repeats the same create when a second moderator starts the running room: harmless.
    expect(xmlTag((await call(create, { method: 'GET', headers })).text, 'messageKey')).toBe('duplicateWarning');
    const end = `${w.proxy.url}/bigbluebutton/api/end?${signed('end', 'meetingID=replay')}`;
    expect(xmlTag((await call(end, { method: 'GET', headers })).text, 'messageKey')).toBe('sentEndMeetingRequest');
    expect(xmlTag((await call(end, { method: 'GET', headers })).text, 'messageKey')).toBe('checksumError');
    // The captured create URL cannot start a new meeting.
    const replayed = await call(create, { method: 'GET', headers });
    expect(xmlTag(replayed.text, 'messageKey')).toBe('checksumError');
    expect(w.bbb.meetings().filter((m) => m.meetingID === 'replay')).toHaveLength(1);
  });
});

describe('a free host', () => {
  let w: World;
  beforeAll(async () => (w = await world()));
  afterAll(async () => w.close());

  it('gets duration set to the plan\'s 60 minutes whatever was sent, no recording, and the owner tag', async () => {
    const tampered = [
      'duration=0',
      'duration=-5',
      'DURATION=600',
      'duration=600&Duration=0&duration=1000',
      'duRation=99999&record=true&RECORD=true&autoStartRecording=true',
      'meta_porta-owner=sup-someone-else',
    ];
    for (const [i, extra] of tampered.entries()) {
      const reply = await api(w, 'create', `meetingID=t${i}&name=T${i}&${extra}`, `free-tom${i}`);
      expect(xmlTag(reply.text, 'returncode')).toBe('SUCCESS');
      const meeting = w.bbb.meeting(`t${i}`)!;
      expect(meeting.duration).toBe(60);
      expect(meeting.record).toBe(false);
      expect(meeting.metadata['porta-owner']).toBe(`free-tom${i}`);
      const forwarded = w.bbb.received.findLast((r) => r.call === 'create')!.query;
      expect(forwarded.match(/duration=/gi)).toHaveLength(1);
    }
  });

  it('has the meeting end at 60 simulated minutes, and joining it afterwards is refused with a clear page', async () => {
    expect(xmlTag((await api(w, 'create', 'meetingID=hour&name=Hour', 'free-hana')).text, 'returncode')).toBe('SUCCESS');
    const join = await api(w, 'join', 'meetingID=hour&fullName=Hana&role=MODERATOR&redirect=false', 'free-hana');
    expect(xmlTag(join.text, 'messageKey')).toBe('successfullyJoined');
    w.clock.advance(59 * MINUTE);
    await w.bbb.tick();
    expect(w.bbb.meeting('hour')!.running).toBe(true);
    w.clock.advance(1 * MINUTE);
    await w.bbb.tick();
    expect(w.bbb.meeting('hour')!.ended).toBe(true);
    const late = await api(w, 'join', 'meetingID=hour&fullName=Guest&role=VIEWER', undefined, { accept: 'text/html' });
    expect(late.status).toBe(403);
    expect(late.headers['content-type']).toContain('text/html');
    expect(late.text).toContain('60-minute limit');
    // Minutes go to metering when the sweeper sees the meeting ended.
    await w.enforcer.sweeper.sweep();
    const record = w.usage.find((u) => u.subject === 'free-hana')!;
    expect(record.kind).toBe('meeting');
    expect(record.units.hostMinutes).toBe(60);
    // Still refused with the reason once the sweeper settled it.
    const later = await api(w, 'join', 'meetingID=hour&fullName=Guest2&role=VIEWER&redirect=false');
    expect(xmlTag(later.text, 'messageKey')).toBe('meetingExpired');
    // Created again by its host: joinable again.
    await api(w, 'create', 'meetingID=hour&name=Hour+again', 'free-hana');
    const again = await api(w, 'join', 'meetingID=hour&fullName=Guest3&role=VIEWER&redirect=false');
    expect(xmlTag(again.text, 'messageKey')).toBe('successfullyJoined');
  });

  it('cannot escape the daily cap by ending and re-creating meetings', async () => {
    const host = 'free-fio';
    const create = (id: string) => api(w, 'create', `meetingID=${id}&name=${id}&duration=0`, host);
    expect(xmlTag((await create('d1')).text, 'duration')).toBe('60');
    w.clock.advance(10 * MINUTE);
    expect(xmlTag((await api(w, 'end', 'meetingID=d1', host)).text, 'messageKey')).toBe('sentEndMeetingRequest');
    // Re-created at once: the 10 minutes used count, the 50 unused come back.
    expect(xmlTag((await create('d1')).text, 'duration')).toBe('60');
    w.clock.advance(60 * MINUTE);
    await w.bbb.tick();
    // 120 − 10 − 60 = 50 minutes left today.
    expect(xmlTag((await create('d2')).text, 'duration')).toBe('50');
    w.clock.advance(50 * MINUTE);
    await w.bbb.tick();
    const refused = await create('d3');
    expect(xmlTag(refused.text, 'returncode')).toBe('FAILED');
    expect(xmlTag(refused.text, 'messageKey')).toBe('dailyLimitReached');
    expect(w.bbb.meeting('d3')).toBeUndefined();
    // A new day, a new allowance.
    w.clock.advance(24 * 60 * MINUTE);
    expect(xmlTag((await create('d3')).text, 'duration')).toBe('60');
  });
});

describe('a paying host', () => {
  let w: World;
  beforeAll(async () => (w = await world()));
  afterAll(async () => w.close());

  it('keeps duration and recording as sent, and the meeting is not cut', async () => {
    const reply = await api(w, 'create', 'meetingID=long&name=Long&record=true&duration=0', 'sup-sara');
    expect(xmlTag(reply.text, 'returncode')).toBe('SUCCESS');
    const meeting = w.bbb.meeting('long')!;
    expect(meeting.duration).toBe(0);
    expect(meeting.record).toBe(true);
    expect(meeting.metadata['porta-owner']).toBe('sup-sara');
    await api(w, 'join', 'meetingID=long&fullName=Sara&role=MODERATOR&redirect=false', 'sup-sara');
    for (let i = 0; i < 5; i++) {
      w.clock.advance(60 * MINUTE);
      await w.bbb.tick();
      await w.enforcer.sweeper.sweep();
    }
    expect(w.bbb.meeting('long')!.running).toBe(true);
    expect(w.bbb.meeting('long')!.ended).toBe(false);
  });

  it('has recordings beyond the plan\'s storage unpublished, with a notice', async () => {
    await api(w, 'end', 'meetingID=long', 'sup-sara');
    await w.bbb.finishRecording('long', 600 * 1024 ** 2);
    await api(w, 'create', 'meetingID=second&name=Second&record=true', 'sup-sara');
    w.clock.advance(30 * MINUTE);
    await api(w, 'end', 'meetingID=second', 'sup-sara');
    await w.bbb.finishRecording('second', 600 * 1024 ** 2);
    const report = await w.enforcer.sweeper.sweep();
    const byMeeting = Object.fromEntries(w.bbb.recordings().map((r) => [r.meetingID, r.published]));
    expect(byMeeting).toEqual({ long: true, second: false });
    expect(report.unpublished).toHaveLength(1);
    expect(w.notices[0].owner).toBe('sup-sara');
    expect(w.notices[0].message).toContain('unpublished');
    const minutes = w.usage.filter((u) => u.subject === 'sup-sara').map((u) => u.units.hostMinutes);
    expect(minutes.sort()).toEqual([30, 300]);
  });
});

describe('the sweeper', () => {
  let w: World;
  beforeAll(async () => (w = await world({ honourDuration: false })));
  afterAll(async () => w.close());

  it('ends a free meeting past its limit when BigBlueButton did not, and meters host and participant minutes', async () => {
    await api(w, 'create', 'meetingID=s1&name=S1', 'free-sam');
    await api(w, 'join', 'meetingID=s1&fullName=Sam&role=MODERATOR&redirect=false', 'free-sam');
    await api(w, 'join', 'meetingID=s1&fullName=Guest&role=VIEWER&redirect=false');
    await w.enforcer.sweeper.sweep();
    w.clock.advance(30 * MINUTE);
    await w.enforcer.sweeper.sweep();
    expect(w.bbb.meeting('s1')!.running).toBe(true);
    w.clock.advance(31 * MINUTE);
    const report = await w.enforcer.sweeper.sweep();
    expect(report.ended).toEqual(['s1']);
    expect(w.bbb.meeting('s1')!.ended).toBe(true);
    expect(w.usage).toHaveLength(1);
    expect(w.usage[0].units).toEqual({ hostMinutes: 60, participantMinutes: 122 });
    // Settled once: another sweep records nothing more.
    await w.enforcer.sweeper.sweep();
    expect(w.usage).toHaveLength(1);
  });
});

describe('Greenlight (create calls from its server, without a user)', () => {
  let w: World;
  beforeAll(async () => (w = await world()));
  afterAll(async () => w.close());

  const start = (w: World, subject: string, room: string) =>
    w.greenlight.observer.admit({ req: {} as never, res: {} as never, method: 'POST', path: `/api/v1/meetings/${room}/start`, query: '', subject, upstreamHeaders: {} });

  it('attributes the create to the person whose start request just passed the gateway', async () => {
    await start(w, 'sup-gil', 'gil-room-1');
    await api(w, 'create', 'meetingID=gl-1&name=Gil&record=true');
    expect(w.bbb.meeting('gl-1')!.metadata['porta-owner']).toBe('sup-gil');
    expect(w.bbb.meeting('gl-1')!.duration).toBe(0);
    await start(w, 'free-fay', 'fay-room-1');
    await api(w, 'create', 'meetingID=gl-2&name=Fay');
    expect(w.bbb.meeting('gl-2')!.metadata['porta-owner']).toBe('free-fay');
    expect(w.bbb.meeting('gl-2')!.duration).toBe(60);
  });

  it('tells simultaneous starts apart by the rooms it learned, and fails closed when it cannot', async () => {
    await api(w, 'end', 'meetingID=gl-1', 'sup-gil');
    w.clock.advance(MINUTE);
    await start(w, 'free-fay', 'fay-room-2');
    await start(w, 'sup-gil', 'gil-room-1');
    await api(w, 'create', 'meetingID=gl-1&name=Gil+again');
    expect(w.bbb.meeting('gl-1')!.metadata['porta-owner']).toBe('sup-gil');
    w.clock.advance(MINUTE);
    await api(w, 'create', 'meetingID=nobody&name=Nobody&duration=0');
    expect(w.bbb.meeting('nobody')!.metadata['porta-owner']).toBeUndefined();
    expect(w.bbb.meeting('nobody')!.duration).toBe(60);
  });
});
