/** Validation and encoding of ledger entries and cursors, shared by both Ledger implementations. */
import type { EncodedLedgerEntry, LedgerBatch, LedgerEntry, LedgerLines } from './types.ts';
import { toJson } from './serialise.ts';

export interface EncodedEntry {
  id: string;
  time: number;
  data: string;
}

/** Ids are written between separators (tab, newline) in journal lines and Redis batches. */
const CONTROL = /[\x00-\x1f\x7f]/;

/** True for an id a ledger line can hold: non-empty, no control characters. */
export function isLedgerId(id: unknown): id is string {
  return typeof id === 'string' && id.length > 0 && !CONTROL.test(id);
}

/** The line of one entry, `id <TAB> time <TAB> json` (no newline): the journal's and the Redis append script's format. */
export function ledgerLine(id: string, time: number, json: string): string {
  return `${id}\t${time}\t${json}`;
}

export const DEFAULT_READ_LIMIT = 100;
export const MAX_READ_LIMIT = 1000;

/** Checks and encodes every entry before anything is written, so a bad entry writes none of the batch. */
export function encodeEntries(entries: ReadonlyArray<LedgerEntry | EncodedLedgerEntry>): EncodedEntry[] {
  return entries.map((entry, i) => {
    if (!isLedgerId(entry.id)) throw new TypeError(`entries[${i}].id must be a non-empty string without control characters.`);
    if (!Number.isSafeInteger(entry.time) || entry.time < 0) throw new TypeError(`entries[${i}].time must be milliseconds since the epoch, got ${String(entry.time)}.`);
    if ('json' in entry) {
      // A raw newline would cut the entry's line in two: a batch no ledger could ever take.
      if (typeof entry.json !== 'string' || !entry.json.startsWith('{') || entry.json.includes('\n')) throw new TypeError(`entries[${i}].json must be the JSON text of an object, on one line.`);
      return { id: entry.id, time: entry.time, data: entry.json };
    }
    if (entry.data === null || typeof entry.data !== 'object') throw new TypeError(`entries[${i}].data must be an object.`);
    return { id: entry.id, time: entry.time, data: toJson(entry.data, `entries[${i}].data`) };
  });
}

export function isLedgerLines(batch: LedgerBatch): batch is LedgerLines {
  return !Array.isArray(batch);
}

/**
 * The line rule, one place for both forms below: a non-empty id, a TAB, the time as 1 to 15 decimal
 * digits (every such number is a safe integer; milliseconds since the epoch have 13), a TAB, the json.
 */
const MAX_TIME_DIGITS = 15;
const TIME_DIGITS = /^\d{1,15}$/;

/** One `id <TAB> time <TAB> json` line; undefined when it is not one (a torn or foreign line). */
export function parseLedgerLine(line: string): EncodedLedgerEntry | undefined {
  const a = line.indexOf('\t');
  const b = line.indexOf('\t', a + 1);
  if (a <= 0 || b === -1) return undefined;
  const time = line.slice(a + 1, b);
  if (!TIME_DIGITS.test(time)) return undefined;
  return { id: line.slice(0, a), time: Number(time), json: line.slice(b + 1) };
}

/** Whether bytes [start, end) of a batch are such a line, checked without decoding them (the Redis ledger's check of a whole batch). */
export function isLedgerLineAt(bytes: Buffer, start: number, end: number): boolean {
  const tab = bytes.indexOf(0x09, start);
  if (tab <= start || tab >= end) return false;
  let at = tab + 1;
  while (at < end && bytes[at] >= 0x30 && bytes[at] <= 0x39) at++;
  const digits = at - tab - 1;
  return digits >= 1 && digits <= MAX_TIME_DIGITS && at < end && bytes[at] === 0x09;
}

/** The entries of a batch as objects (lines parsed; a line that is not one is an error). */
export function entriesOf(batch: LedgerBatch): ReadonlyArray<LedgerEntry | EncodedLedgerEntry> {
  if (!isLedgerLines(batch)) return batch;
  const entries: EncodedLedgerEntry[] = [];
  for (const line of batch.lines.toString('utf8').split('\n')) {
    if (line === '') continue;
    const entry = parseLedgerLine(line);
    if (!entry) throw new TypeError(`lines[${entries.length}] is not "id<TAB>time<TAB>json".`);
    entries.push(entry);
  }
  return entries;
}

/** A stream name is required (on Redis it is the hash tag that keeps a stream's keys in one slot). */
export function assertStream(stream: string): void {
  if (typeof stream !== 'string' || stream.length === 0) throw new TypeError('stream must be a non-empty string.');
}

/** Cursors are opaque to callers; inside they are the append sequence number. */
export function parseCursor(after: string): number {
  if (!/^\d{1,15}$/.test(after)) throw new TypeError(`after is not a cursor returned by read(): ${JSON.stringify(after.slice(0, 40))}.`);
  return Number(after);
}

/** Page size of `read`: 100 by default, at most 1000 (larger asks are capped). */
export function readLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_READ_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new TypeError(`limit must be a positive integer, got ${String(limit)}.`);
  return Math.min(limit, MAX_READ_LIMIT);
}
