/**
 * The meetings the gateway let a limited (or metered) host create, kept in the DocumentStore so
 * every gateway process and the sweeper see them. A meeting leaves the book when it has ended and
 * its minutes went to metering.
 */
import type { DocumentStore } from '../../../store/types.ts';

export interface TrackedMeeting {
  meetingID: string;
  /** Account id of the host (`meta_porta-owner`). */
  owner: string;
  plan: string;
  createdAt: number;
  /** Longest the meeting may run, minutes; 0 = no limit. */
  grantedMinutes: number;
  /** Minutes taken from the host's daily allowance (`day`), given back in part if it ends early. */
  reservedMinutes: number;
  day: string;
  /** Participant minutes counted so far by polling. */
  participantMinutes: number;
  lastPolledAt: number;
}

const MEETINGS = 'bbb-meetings';
const RECORDING_CHECKS = 'bbb-recording-checks';

export interface RecordingCheck {
  owner: string;
  /** Keep checking (recordings are processed after the meeting) until then. */
  until: number;
}

export class MeetingBook {
  private readonly documents: DocumentStore;
  constructor(documents: DocumentStore) {
    this.documents = documents;
  }
  get(meetingID: string): Promise<TrackedMeeting | undefined> {
    return this.documents.get<TrackedMeeting>(MEETINGS, meetingID);
  }
  async put(meeting: TrackedMeeting): Promise<void> {
    await this.documents.write([{ collection: MEETINGS, id: meeting.meetingID, doc: meeting }]);
  }
  async remove(meetingID: string): Promise<void> {
    await this.documents.write([{ collection: MEETINGS, id: meetingID, doc: undefined }]);
  }
  async all(): Promise<TrackedMeeting[]> {
    return (await this.documents.list<TrackedMeeting>(MEETINGS)).map((e) => e.doc);
  }
  async checkRecordingsOf(owner: string, until: number): Promise<void> {
    await this.documents.write([{ collection: RECORDING_CHECKS, id: owner, doc: { owner, until } satisfies RecordingCheck }]);
  }
  async recordingChecks(): Promise<RecordingCheck[]> {
    return (await this.documents.list<RecordingCheck>(RECORDING_CHECKS)).map((e) => e.doc);
  }
  async doneRecordingChecks(owner: string): Promise<void> {
    await this.documents.write([{ collection: RECORDING_CHECKS, id: owner, doc: undefined }]);
  }
}

/** The UTC day a meeting's minutes count against. */
export function dayOf(time: number): string {
  return new Date(time).toISOString().slice(0, 10);
}

export const dailyMinutesKey = (owner: string, day: string) => `bbb:minutes:${owner}:${day}`;
