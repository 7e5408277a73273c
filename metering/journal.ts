/**
 * The usage journal: a folder of append-only JSON-lines segments on local disk. Every record the
 * recorder accepts is written here first (one `write` to the page cache, about 2 µs), so a process
 * that is killed loses nothing it acknowledged. The recorder seals the open segment when it flushes
 * a batch; a sealed segment is fsynced and deleted once the ledger holds its records. Segments left
 * by an earlier process are replayed at start; record ids make the replay idempotent.
 *
 * One process per folder: a lock file with the owner's pid stops a second live process from using it.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../kernel/logger.ts';
import type { UsageRecord } from './types.ts';

export interface JournalSegment {
  name: string;
  path: string;
}

export interface UsageJournal {
  readonly dir: string;
  /** False after the last write failed (or the folder could not be opened). */
  readonly writable: boolean;
  /** Appends one record to the open segment; false when the disk refused it. */
  append(record: UsageRecord): boolean;
  /** Closes the open segment and returns it; undefined when no segment is open. */
  seal(): JournalSegment | undefined;
  /** Segments left by an earlier process, oldest first. */
  leftovers(): JournalSegment[];
  /** The records of a sealed segment; a torn last line (a write cut by a kill) is skipped. */
  read(segment: JournalSegment): Promise<UsageRecord[]>;
  /** Forces a sealed segment to disk. */
  sync(segment: JournalSegment): Promise<void>;
  remove(segment: JournalSegment): Promise<void>;
  /** Closes the open segment (kept for the next start) and releases the lock. */
  close(): void;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const LOCK = 'journal.lock';

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the folder's lock or throws with a message an operator can act on. */
function lock(dir: string): void {
  const file = path.join(dir, LOCK);
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const owner = Number.parseInt(fs.readFileSync(file, 'utf8'), 10);
  if (Number.isInteger(owner) && owner !== process.pid && alive(owner)) {
    throw new Error(`The usage journal ${dir} is in use by process ${owner}; give each process its own metering.journalPath.`);
  }
  fs.writeFileSync(file, String(process.pid)); // the owner died: take over its segments
}

export function openJournal(dir: string, logger: Logger): UsageJournal {
  let writable = true;
  let fd: number | undefined;
  let open: JournalSegment | undefined;
  let seq = 0;
  let previous: JournalSegment[] = [];
  let locked = false;
  let lastErrorCode: string | undefined;

  const segmentAt = (n: number): JournalSegment => {
    const name = `${String(n).padStart(12, '0')}.jsonl`;
    return { name, path: path.join(dir, name) };
  };

  try {
    fs.mkdirSync(dir, { recursive: true });
    lock(dir);
    locked = true;
    const numbers = fs
      .readdirSync(dir)
      .map((name) => SEGMENT.exec(name)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
    previous = numbers.map(segmentAt);
    seq = numbers.length > 0 ? numbers[numbers.length - 1] + 1 : 1;
  } catch (err) {
    writable = false;
    lastErrorCode = (err as NodeJS.ErrnoException).code;
    logger.error({ err, dir }, 'usage journal cannot be opened: billable traffic will be refused');
  }

  function fail(err: unknown): false {
    const code = (err as NodeJS.ErrnoException).code;
    if (writable || code !== lastErrorCode) logger.error({ err, dir }, 'usage journal cannot be written: billable traffic will be refused');
    writable = false;
    lastErrorCode = code;
    return false;
  }

  return {
    dir,
    get writable() {
      return writable;
    },
    append(record) {
      if (!locked) return fail(Object.assign(new Error('journal folder not opened'), { code: lastErrorCode ?? 'ENOLOCK' }));
      const line = `${JSON.stringify(record)}\n`;
      try {
        if (fd === undefined) {
          open = segmentAt(seq++);
          fd = fs.openSync(open.path, 'a');
        }
        const written = fs.writeSync(fd, line);
        if (written < Buffer.byteLength(line)) {
          // A short write (rare: a full disk): finish it from the bytes, or fail.
          const bytes = Buffer.from(line);
          for (let at = written; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
        }
      } catch (err) {
        return fail(err);
      }
      if (!writable) logger.info({ dir }, 'usage journal writable again');
      writable = true;
      lastErrorCode = undefined;
      return true;
    },
    seal() {
      if (fd === undefined || open === undefined) return undefined;
      const sealed = open;
      try {
        fs.closeSync(fd);
      } catch (err) {
        logger.warn({ err, segment: sealed.name }, 'usage journal segment did not close cleanly');
      }
      fd = undefined;
      open = undefined;
      return sealed;
    },
    leftovers() {
      const list = previous;
      previous = [];
      return list;
    },
    async read(segment) {
      const text = await fs.promises.readFile(segment.path, 'utf8');
      const records: UsageRecord[] = [];
      let torn = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        try {
          records.push(JSON.parse(line) as UsageRecord);
        } catch {
          torn += 1;
        }
      }
      if (torn > 0) logger.warn({ segment: segment.name, torn }, 'usage journal segment had torn lines (a write cut short); skipped');
      return records;
    },
    async sync(segment) {
      const handle = await fs.promises.open(segment.path, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    },
    async remove(segment) {
      await fs.promises.rm(segment.path, { force: true });
    },
    close() {
      this.seal();
      if (locked) {
        try {
          fs.rmSync(path.join(dir, LOCK), { force: true });
        } catch {
          // a stale lock is taken over at the next start
        }
        locked = false;
      }
    },
  };
}
