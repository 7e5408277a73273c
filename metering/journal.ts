/**
 * The usage journal: append-only segments on local disk, a line per record (`id <TAB> time <TAB> json`,
 * the JSON the ledger stores, so a record is encoded once). Every record the recorder accepts is
 * written here before it goes to the ledger, so a killed process loses at most the last
 * `COMMIT_EVERY_MS` of records, and nothing that was acknowledged after `committed()`. Writes are
 * grouped (one `write` for all the lines of those milliseconds, or at 64 KiB): one write per record
 * cost the gateway about 5 % of its throughput. The recorder seals the open segment when it flushes a batch; a
 * sealed segment is deleted once the ledger holds its records (and fsynced when the ledger refused it).
 *
 * Several processes may share `metering.journalPath` (one gateway per core, an IdP beside them): each
 * writes in its own folder `<journalPath>/w-<pid>-<random>` holding a lock file with its pid. At start
 * a journal adopts the segments of folders whose owner is gone (lock file removed by a clean close, or
 * naming a dead pid): it claims such a folder by renaming it (atomic, so two starting processes never
 * both take it), moves the segments into its own folder, and hands them to the recorder to replay.
 * Record ids make the replay idempotent.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../kernel/logger.ts';
import type { EncodedLedgerEntry, LedgerLines } from '../store/types.ts';
import { ledgerLine, parseLedgerLine } from '../store/ledger-entries.ts';

export interface JournalSegment {
  name: string;
  path: string;
  /** False when a write to it failed: some of its records exist only in the recorder's memory. */
  complete?: boolean;
}

/** A segment just sealed, with its lines as written (the ledger takes them as they are). */
export interface SealedSegment extends JournalSegment {
  lines: LedgerLines;
}

export interface UsageJournal {
  /** This process's own folder under the journal root. */
  readonly dir: string;
  /** False after the last write failed (or the folder could not be opened). */
  readonly writable: boolean;
  /**
   * Appends one record, already encoded for the ledger. Lines are written together (group commit):
   * at most `COMMIT_EVERY_MS` after the first of them, or at once past 64 KiB.
   * False when the disk refused the last write: the record is not kept.
   */
  append(entry: EncodedLedgerEntry): boolean;
  /** Writes the appended lines now; false when the disk refused them. */
  commit(): boolean;
  /** Resolves once every record appended so far is written, at the next commit (or that write failed: `writable` is then false). */
  committed(): Promise<void>;
  /**
   * Closes the open segment and returns it with its lines; undefined when nothing was appended since
   * the last seal. Lines whose write failed are in `lines` all the same (and the segment is not `complete`).
   */
  seal(): SealedSegment | undefined;
  /** Segments adopted from processes that are gone, oldest first; handed over once. */
  leftovers(): JournalSegment[];
  /** The records of a sealed segment; a torn last line (a write cut by a kill) is skipped. */
  read(segment: JournalSegment): Promise<EncodedLedgerEntry[]>;
  /** Forces a sealed segment to disk. */
  sync(segment: JournalSegment): Promise<void>;
  remove(segment: JournalSegment): Promise<void>;
  /** Closes the open segment (kept for the next start) and releases the folder. */
  close(): void;
}

const SEGMENT = /^(\d{12})\.jsonl$/;
const OWN = /^(?:w|claimed)-(\d+)-[0-9a-f]+$/;
const LOCK = 'journal.lock';
/** Pending lines past this size are written at once. */
const GROUP_COMMIT_BYTES = 64 * 1024;
/** Lines are encoded into buffers of this size: large enough that a sealed segment is usually one slice of one (no copy). */
const SLAB_BYTES = 256 * 1024;
/** Pending lines are written at most this long after the first of them. */
export const COMMIT_EVERY_MS = 5;

function alive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The segments of a folder, oldest first. */
function segmentsIn(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => SEGMENT.test(name))
    .sort();
}

/**
 * True when nobody writes in this folder any more: it was closed (no lock) or its owner died. A
 * `claimed-<pid>-…` folder is being adopted by process <pid>: abandoned only if that process died too.
 */
function abandoned(dir: string): boolean {
  const claimer = /^claimed-(\d+)-/.exec(path.basename(dir));
  if (claimer) return !alive(Number(claimer[1]));
  let owner: number;
  try {
    owner = Number.parseInt(fs.readFileSync(path.join(dir, LOCK), 'utf8'), 10);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  return !Number.isInteger(owner) || !alive(owner);
}

/**
 * A journal line: `id <TAB> time <TAB> json`, or (segments written before 0.2) the whole record as
 * JSON. Undefined for a torn line.
 */
function parseLine(line: string): EncodedLedgerEntry | undefined {
  if (line.startsWith('{')) {
    try {
      const { id, time, ...data } = JSON.parse(line) as { id: string; time: number } & Record<string, unknown>;
      return { id, time, json: JSON.stringify(data) };
    } catch {
      return undefined;
    }
  }
  const entry = parseLedgerLine(line);
  if (!entry) return undefined;
  try {
    JSON.parse(entry.json); // a line cut short by a kill is not whole JSON
  } catch {
    return undefined;
  }
  return entry;
}

export function openJournal(root: string, logger: Logger): UsageJournal {
  const dir = path.join(root, `w-${process.pid}-${randomBytes(4).toString('hex')}`);
  let writable = true;
  let fd: number | undefined;
  let open: JournalSegment | undefined;
  let seq = 1;
  let previous: JournalSegment[] = [];
  let locked = false;
  let lastErrorCode: string | undefined;

  const segmentAt = (n: number): JournalSegment => {
    const name = `${String(n).padStart(12, '0')}.jsonl`;
    return { name, path: path.join(dir, name) };
  };

  /** Moves the segments of abandoned folders into ours (their order does not matter: ids and times do). */
  function adopt(): JournalSegment[] {
    const adopted: JournalSegment[] = [];
    for (const name of fs.readdirSync(root).sort()) {
      const other = path.join(root, name);
      if (other === dir || !OWN.test(name) || !abandoned(other)) continue;
      const claimed = path.join(root, `claimed-${process.pid}-${randomBytes(4).toString('hex')}`);
      try {
        fs.renameSync(other, claimed);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // another process claimed it first
        throw err;
      }
      for (const segment of segmentsIn(claimed)) {
        const target = segmentAt(seq++);
        fs.renameSync(path.join(claimed, segment), target.path);
        adopted.push(target);
      }
      fs.rmSync(claimed, { recursive: true, force: true });
    }
    return adopted;
  }

  try {
    // The folder appears with its lock already inside, so no other process ever sees it unlocked.
    const staging = path.join(root, `.staging-${process.pid}-${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(staging, { recursive: true });
    fs.writeFileSync(path.join(staging, LOCK), String(process.pid));
    fs.renameSync(staging, dir);
    locked = true;
    previous = adopt();
  } catch (err) {
    writable = false;
    lastErrorCode = (err as NodeJS.ErrnoException).code;
    logger.error({ err, dir: root }, 'usage journal cannot be opened: billable traffic will be refused');
  }

  /**
   * Lines are encoded once, straight into a slab: bytes [written, used) are appended and not yet
   * written (group commit: one write for many records), bytes before `written` are in the segment.
   * A full slab is never reused: what was written of it stays the segment's bytes (see `chunks`).
   */
  let slab = Buffer.allocUnsafe(SLAB_BYTES);
  let used = 0;
  let written = 0;
  let pendingCount = 0;
  /** One timer for all group commits, re-armed with refresh(): a new Timeout per commit cost ~2 µs a request at moderate load. */
  let commitTimer: NodeJS.Timeout | undefined;
  let commitArmed = false;
  let waiters: Array<() => void> = [];
  let openIncomplete = false;
  /**
   * The bytes of the open segment since it was opened, as written (views of the slabs): sealed, they
   * go to the ledger as they are. Bytes, not record objects: a record is garbage within
   * COMMIT_EVERY_MS of `append()` however long the ledger takes (records kept as objects until the
   * ledger answered made V8's minor GCs copy and promote megabytes under load; see docs/gateway.md).
   */
  let chunks: Buffer[] = [];
  let chunkCount = 0;

  /**
   * Writes the pending lines to the open segment (opening one if needed); false when the disk refused.
   * `refuseLast`: the byte length of the last line, whose record is refused if the write fails.
   */
  function commit(refuseLast = 0): boolean {
    // Everything pending is written now: the group-commit timer would only wake the process for
    // nothing (the tally commits each window itself, 50 times a second).
    if (commitArmed) disarmCommit();
    const done = waiters;
    waiters = [];
    for (const resolve of done) queueMicrotask(resolve);
    if (used === written) return writable;
    const bytes = slab.subarray(written, used);
    let count = pendingCount;
    written = used;
    pendingCount = 0;
    open ??= segmentAt(seq++);
    try {
      fd ??= fs.openSync(open.path, 'a');
      // A short write is rare (a full disk): finish it, or fail.
      for (let at = 0; at < bytes.length; ) at += fs.writeSync(fd, bytes, at);
    } catch (err) {
      // The lines are lost to the journal, not to the recorder: this segment's lines stay in memory
      // and are marked incomplete, so they are not read back from the file. A refused last record
      // is dropped.
      openIncomplete = true;
      count -= refuseLast > 0 ? 1 : 0;
      keep(refuseLast > 0 ? bytes.subarray(0, bytes.length - refuseLast) : bytes, count);
      return fail(err);
    }
    keep(bytes, count);
    if (!writable) logger.info({ dir }, 'usage journal writable again');
    writable = true;
    lastErrorCode = undefined;
    return true;
  }

  function keep(bytes: Buffer, count: number): void {
    if (count === 0) return;
    // Consecutive writes from one slab are one chunk: a sealed segment is then rarely concatenated.
    const last = chunks.at(-1);
    if (last !== undefined && last.buffer === bytes.buffer && last.byteOffset + last.length === bytes.byteOffset) {
      chunks[chunks.length - 1] = Buffer.from(bytes.buffer, last.byteOffset, last.length + bytes.length);
    } else chunks.push(bytes);
    chunkCount += count;
  }

  function disarmCommit(): void {
    clearTimeout(commitTimer);
    commitTimer = undefined;
    commitArmed = false;
  }

  function commitPending(): void {
    commitArmed = false;
    commit();
  }

  /** Lines appended now are written within COMMIT_EVERY_MS (sooner if something commits first; the timer then finds less or nothing). */
  function armCommit(): void {
    if (commitArmed) return;
    commitArmed = true;
    if (commitTimer) commitTimer.refresh();
    else commitTimer = setTimeout(commitPending, COMMIT_EVERY_MS); // ref'd: a process ending on its own writes them first
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
    append(entry) {
      if (!locked) return fail(Object.assign(new Error('journal folder not opened'), { code: lastErrorCode ?? 'ENOLOCK' }));
      const line = `${ledgerLine(entry.id, entry.time, entry.json)}\n`;
      // A UTF-16 code unit takes at most 3 bytes in UTF-8: past that, write what is pending and start a new slab.
      if (used + line.length * 3 > slab.length) {
        commit();
        slab = Buffer.allocUnsafe(Math.max(SLAB_BYTES, line.length * 3));
        used = written = 0;
      }
      const size = slab.write(line, used);
      used += size;
      pendingCount += 1;
      // While the disk refuses, write now: the caller learns at once whether this record is kept.
      if (!writable) return commit(size);
      if (used - written >= GROUP_COMMIT_BYTES) return commit();
      armCommit();
      return true;
    },
    commit,
    committed() {
      if (used === written) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    seal() {
      commit();
      if (open === undefined) return undefined;
      const sealed: SealedSegment = { ...open, lines: { lines: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks), count: chunkCount } };
      if (fd !== undefined) {
        try {
          fs.closeSync(fd);
        } catch (err) {
          logger.warn({ err, segment: sealed.name }, 'usage journal segment did not close cleanly');
        }
      }
      if (openIncomplete) sealed.complete = false;
      fd = undefined;
      open = undefined;
      openIncomplete = false;
      chunks = [];
      chunkCount = 0;
      return sealed;
    },
    leftovers() {
      const list = previous;
      previous = [];
      return list;
    },
    async read(segment) {
      const text = await fs.promises.readFile(segment.path, 'utf8');
      const entries: EncodedLedgerEntry[] = [];
      let torn = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const entry = parseLine(line);
        if (entry) entries.push(entry);
        else torn += 1;
      }
      if (torn > 0) logger.warn({ segment: segment.name, torn }, 'usage journal segment had torn lines (a write cut short); skipped');
      return entries;
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
      // unlink, not rm: rm walks the path first (lstat) to handle folders; a segment is a file.
      await fs.promises.unlink(segment.path).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      });
    },
    close() {
      this.seal();
      disarmCommit();
      if (!locked) return;
      locked = false;
      try {
        // Without the lock the folder is abandoned: the next journal on this root adopts what is left.
        if (segmentsIn(dir).length === 0) fs.rmSync(dir, { recursive: true, force: true });
        else fs.rmSync(path.join(dir, LOCK), { force: true });
      } catch (err) {
        logger.warn({ err, dir }, 'usage journal folder could not be released');
      }
    },
  };
}
