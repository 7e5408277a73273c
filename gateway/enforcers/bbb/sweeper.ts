/**
 * The meeting sweeper, called periodically (every minute is plenty) by whoever runs the gateway:
 * - polls `getMeetingInfo` for every tracked meeting; adds participant minutes since the last poll;
 * - calls `end` for a meeting past its limit (in case BigBlueButton did not honour `duration`);
 * - settles a meeting that ended: host and participant minutes go to metering (the record id is
 *   derived from the meeting, so settling twice never counts twice), daily minutes reserved but not
 *   used are given back to the host;
 * - for hosts with recording storage, checks their recordings for a day after a meeting ended
 *   (recordings are processed after the meeting): sizes from `getRecordings`, recordings beyond the
 *   plan's storage are unpublished and the host is told.
 * Time comes from the injected clock.
 */
import type { Clock } from '../../../kernel/clock.ts';
import type { Logger } from '../../../kernel/logger.ts';
import { silentLogger } from '../../../kernel/logger.ts';
import type { CounterStore, KeyValueStore } from '../../../store/types.ts';
import type { UsageInput } from '../../../metering/types.ts';
import type { BbbApi, MeetingInfo } from './api.ts';
import { dailyMinutesKey, type MeetingBook, type TrackedMeeting } from './meeting-book.ts';
import type { HostLimits } from './index.ts';

export interface SweeperOptions {
  service: { id: string; name: string };
  api: BbbApi;
  book: MeetingBook;
  counters: CounterStore;
  kv: KeyValueStore;
  clock: Clock;
  limitsOf(owner: string): Promise<HostLimits>;
  /** metering's `recorder.record`. */
  recordUsage?(usage: UsageInput): boolean;
  /** Tells a host something (mail, account page notice). */
  notify?(owner: string, message: string): void | Promise<void>;
  logger?: Logger;
}

export interface SweepReport {
  polled: number;
  ended: string[];
  settled: string[];
  unpublished: string[];
}

const MINUTE = 60_000;

export const expiredMarkerKey = (meetingID: string) => `bbb:expired:${meetingID}`;
const RECORDING_CHECK_MS = 24 * 60 * MINUTE;

export class MeetingSweeper {
  private readonly o: SweeperOptions;
  private readonly logger: Logger;

  constructor(options: SweeperOptions) {
    this.o = options;
    this.logger = options.logger ?? silentLogger;
  }

  /** True when BigBlueButton no longer runs the meeting. */
  static ended(info: MeetingInfo): boolean {
    return !info.found || info.endTime > 0;
  }

  /** Meters an ended meeting once and gives back unused daily minutes. */
  async settle(meeting: TrackedMeeting, endedAt: number): Promise<void> {
    const { book, counters, kv, clock } = this.o;
    const first = await kv.setIfAbsent(`bbb:settled:${meeting.meetingID}:${meeting.createdAt}`, '1', 7 * 86_400);
    if (!first) {
      await book.remove(meeting.meetingID);
      return;
    }
    const limitEnd = meeting.grantedMinutes > 0 ? meeting.createdAt + meeting.grantedMinutes * MINUTE : Infinity;
    const end = Math.max(meeting.createdAt, Math.min(endedAt, limitEnd));
    const hostMinutes = Math.ceil((end - meeting.createdAt) / MINUTE);
    const accepted = this.o.recordUsage?.({
      id: `meeting-${this.o.service.id}-${meeting.meetingID}-${meeting.createdAt}`,
      time: end,
      subject: meeting.owner,
      service: this.o.service.id,
      kind: 'meeting',
      units: { hostMinutes, participantMinutes: Math.round(meeting.participantMinutes) },
    });
    if (accepted === false) this.logger.error({ service: this.o.service.id, meeting: meeting.meetingID }, 'bbb: meeting minutes could not be recorded');
    if (meeting.grantedMinutes > 0 && end >= limitEnd) {
      // Joining it is refused with the reason for a day (until the meeting ID is created again).
      await kv.set(expiredMarkerKey(meeting.meetingID), JSON.stringify({ minutes: meeting.grantedMinutes, plan: meeting.plan }), 86_400);
    }
    const unused = meeting.reservedMinutes - hostMinutes;
    if (unused > 0) await counters.release(dailyMinutesKey(meeting.owner, meeting.day), unused);
    await book.remove(meeting.meetingID);
    const limits = await this.o.limitsOf(meeting.owner);
    if (limits.recordingStorage !== 0) await book.checkRecordingsOf(meeting.owner, clock.now() + RECORDING_CHECK_MS);
  }

  /** Reads one tracked meeting from BigBlueButton and settles it if it ended. Returns true when it still runs. */
  async refresh(meeting: TrackedMeeting): Promise<boolean> {
    const info = await this.o.api.meetingInfo(meeting.meetingID);
    if (MeetingSweeper.ended(info)) {
      await this.settle(meeting, info.endTime || this.o.clock.now());
      return false;
    }
    return true;
  }

  async sweep(): Promise<SweepReport> {
    const { api, book, clock } = this.o;
    const report: SweepReport = { polled: 0, ended: [], settled: [], unpublished: [] };
    for (const meeting of await book.all()) {
      try {
        report.polled += 1;
        const info = await api.meetingInfo(meeting.meetingID);
        const now = clock.now();
        if (MeetingSweeper.ended(info)) {
          await this.settle(meeting, info.endTime || now);
          report.settled.push(meeting.meetingID);
          continue;
        }
        meeting.participantMinutes += (info.participantCount * (now - meeting.lastPolledAt)) / MINUTE;
        meeting.lastPolledAt = now;
        if (meeting.grantedMinutes > 0 && now >= meeting.createdAt + meeting.grantedMinutes * MINUTE) {
          await api.end(meeting.meetingID);
          report.ended.push(meeting.meetingID);
          await this.settle(meeting, now);
          report.settled.push(meeting.meetingID);
          continue;
        }
        await book.put(meeting);
      } catch (err) {
        this.logger.warn({ err, meeting: meeting.meetingID }, 'bbb: sweeping a meeting failed; trying again next time');
      }
    }
    for (const check of await book.recordingChecks()) {
      try {
        report.unpublished.push(...(await this.enforceRecordingStorage(check.owner)));
        if (clock.now() > check.until) await book.doneRecordingChecks(check.owner);
      } catch (err) {
        this.logger.warn({ err }, 'bbb: checking recordings failed; trying again next time');
      }
    }
    return report;
  }

  /**
   * Recording storage: the host's recordings (tagged `meta_porta-owner`) are added up oldest first;
   * every published recording past the plan's storage is unpublished. Returns their ids.
   */
  async enforceRecordingStorage(owner: string): Promise<string[]> {
    const limits = await this.o.limitsOf(owner);
    if (limits.recordingStorage === null) return [];
    const recordings = (await this.o.api.recordingsOf(owner)).sort((a, b) => a.startTime - b.startTime);
    let total = 0;
    const over: string[] = [];
    for (const r of recordings) {
      total += r.size;
      if (total > limits.recordingStorage && r.published) over.push(r.recordID);
    }
    if (over.length === 0) return [];
    await this.o.api.unpublish(over);
    const gb = (n: number) => `${(n / 1024 ** 3).toFixed(2).replace(/\.?0+$/, '')} GB`;
    await this.o.notify?.(
      owner,
      `Your recordings use ${gb(total)}, more than the ${gb(limits.recordingStorage)} of recording storage in your plan "${limits.plan}". ` +
        `${over.length} recording${over.length === 1 ? ' was' : 's were'} unpublished; delete older recordings or choose a plan with more recording storage to publish ${over.length === 1 ? 'it' : 'them'} again.`,
    );
    return over;
  }
}
