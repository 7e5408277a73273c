/**
 * The enforcer's own calls to BigBlueButton (the sweeper, recordings): signed with BigBlueButton's
 * secret, answers read from the XML. Only the fields the limits need are read.
 */
import { sign, type ChecksumAlgorithm } from './checksum.ts';

export interface MeetingInfo {
  found: boolean;
  running: boolean;
  createTime: number;
  endTime: number;
  duration: number;
  participantCount: number;
  forciblyEnded: boolean;
  owner?: string;
}

export interface RecordingInfo {
  recordID: string;
  meetingID: string;
  published: boolean;
  size: number;
  startTime: number;
  owner?: string;
}

export function tag(xml: string, name: string): string | undefined {
  const m = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`).exec(xml);
  return m?.[1]?.trim();
}

function blocks(xml: string, name: string): string[] {
  return [...xml.matchAll(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, 'g'))].map((m) => m[1]);
}

export const OWNER_META = 'porta-owner';

export class BbbApi {
  private readonly base: string;
  private readonly secret: string;
  private readonly algorithm: ChecksumAlgorithm;

  constructor(options: { upstream: string; secret: string; algorithm?: ChecksumAlgorithm }) {
    this.base = options.upstream.replace(/\/+$/, '');
    this.secret = options.secret;
    this.algorithm = options.algorithm ?? 'sha256';
  }

  async call(name: string, params: Record<string, string>): Promise<string> {
    const query = new URLSearchParams(params).toString();
    const checksum = sign(name, query, this.secret, this.algorithm);
    const res = await fetch(`${this.base}/bigbluebutton/api/${name}?${query}${query ? '&' : ''}checksum=${checksum}`);
    const text = await res.text();
    if (!res.ok) throw new Error(`BigBlueButton ${name} answered HTTP ${res.status}`);
    if (tag(text, 'messageKey') === 'checksumError') throw new Error(`BigBlueButton refused the gateway's checksum on ${name}: check the BigBlueButton secret`);
    return text;
  }

  async meetingInfo(meetingID: string): Promise<MeetingInfo> {
    const xml = await this.call('getMeetingInfo', { meetingID });
    if (tag(xml, 'returncode') !== 'SUCCESS') {
      return { found: false, running: false, createTime: 0, endTime: 0, duration: 0, participantCount: 0, forciblyEnded: false };
    }
    const metadata = tag(xml, 'metadata') ?? '';
    return {
      found: true,
      running: tag(xml, 'running') === 'true',
      createTime: Number(tag(xml, 'createTime') ?? 0),
      endTime: Number(tag(xml, 'endTime') ?? 0),
      duration: Number(tag(xml, 'duration') ?? 0),
      participantCount: Number(tag(xml, 'participantCount') ?? 0),
      forciblyEnded: tag(xml, 'hasBeenForciblyEnded') === 'true',
      owner: tag(metadata, OWNER_META),
    };
  }

  async end(meetingID: string): Promise<boolean> {
    const xml = await this.call('end', { meetingID });
    return tag(xml, 'returncode') === 'SUCCESS';
  }

  async recordingsOf(owner: string): Promise<RecordingInfo[]> {
    const xml = await this.call('getRecordings', { [`meta_${OWNER_META}`]: owner });
    return blocks(xml, 'recording').map((r) => ({
      recordID: tag(r, 'recordID') ?? '',
      meetingID: tag(r, 'meetingID') ?? '',
      published: tag(r, 'published') === 'true',
      // `<size>` of the recording (the sum of its formats), bytes.
      size: Number(tag(r.replace(/<playback>[\s\S]*<\/playback>/, ''), 'size') ?? 0),
      startTime: Number(tag(r, 'startTime') ?? 0),
      owner: tag(tag(r, 'metadata') ?? '', OWNER_META),
    }));
  }

  async unpublish(recordIDs: string[]): Promise<void> {
    if (recordIDs.length === 0) return;
    await this.call('publishRecordings', { recordID: recordIDs.join(','), publish: 'false' });
  }
}
