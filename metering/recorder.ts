/**
 * The usage recorder: takes usage records on the request path without waiting, and gets them into
 * the ledger in batches. Order of events for one record:
 *   1. `record()` encodes it once (the JSON the ledger stores), appends it to the open journal segment
 *      (local disk, no fsync; lines are written together within a few ms, see journal.ts) and keeps
 *      it in memory; it returns false only when the journal refuses writes: the gateway then refuses
 *      billable traffic instead of serving it unrecorded.
 *   2. Every `flushIntervalMs`, or as soon as `flushBatchSize` wait, the segment is sealed and its
 *      records appended to the ledger.
 *   3. When the ledger took them, the segment is deleted. When it did not, the segment is fsynced and
 *      kept, and retried with backoff; the ledger skips ids it holds, so retries never count twice.
 * What each failure costs: a killed process loses at most the records of its last few milliseconds
 * (the page cache holds the journal; `journaled()` says when a record is in it), and of requests
 * counted with `tally()` at most the last TALLY_WINDOW_MS; a power cut loses at most the records of
 * the last `flushIntervalMs` that were not yet in the ledger.
 * Segments left by a killed process are replayed when the next recorder starts on the same journal.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../kernel/clock.ts';
import { idSequence, newId } from '../kernel/ids.ts';
import type { Logger } from '../kernel/logger.ts';
import type { EncodedLedgerEntry, Ledger, LedgerBatch, LedgerLines } from '../store/types.ts';
import { isLedgerId } from '../store/ledger-entries.ts';
import type { JournalSegment, UsageJournal } from './journal.ts';
import { createTally } from './tally.ts';
import { UNIT_KINDS, USAGE_STREAM, type UnitKind, type UsageInput } from './types.ts';

export interface UsageRecorderOptions {
  ledger: Ledger;
  journal: UsageJournal;
  clock: Clock;
  logger: Logger;
  /** Registry for the recorder's metrics; none are kept without one. */
  metrics?: Registry;
  flushIntervalMs: number;
  flushBatchSize: number;
  /** Records kept in memory at most; past it, sealed batches are read back from the journal when flushed. */
  bufferLimit: number;
  /** A ledger append that takes longer counts as failed (it may still land: the retry is idempotent). */
  appendTimeoutMs?: number;
  /** Longest wait between retries while the ledger fails. */
  maxRetryDelayMs?: number;
  /** Batches appended at once (default 4). */
  maxInFlight?: number;
  /** How long `tally()` counts equal requests together before journaling them (default TALLY_WINDOW_MS). */
  tallyWindowMs?: number;
  stream?: string;
}

export interface UsageRecorderStats {
  /** Accepted and not yet confirmed by the ledger. */
  pending: number;
  /** New records the ledger took (ids it already held are not counted). */
  written: number;
  /** Records refused because even the journal could not be written. */
  refused: number;
  /** Records that waited in the journal because the ledger failed. */
  journaled: number;
  ledgerFailures: number;
  /** True while the ledger is failing and batches wait in the journal. */
  degraded: boolean;
}

export interface UsageRecorder {
  /** Synchronous; false when the record could not be kept (refuse the billable request). */
  record(input: UsageInput): boolean;
  /**
   * Like `record()`, for records that may be counted together (a record per proxied request):
   * records equal but for their amounts become one record with summed units and `durationMs`,
   * journaled at the end of a TALLY_WINDOW_MS window (metering/tally.ts). False when the journal
   * cannot be written (refuse billable traffic).
   */
  tally(input: UsageInput): boolean;
  /** Resolves once every record accepted so far is in the journal (within a few ms of `record()`). */
  journaled(): Promise<void>;
  /** Writes everything accepted so far; true when the ledger holds it all. */
  flush(): Promise<boolean>;
  /** Flushes and stops; what the ledger did not take stays in the journal for the next start. */
  close(): Promise<boolean>;
  /** False while the journal cannot be written: billable traffic must be refused. */
  readonly healthy: boolean;
  stats(): UsageRecorderStats;
}

interface Batch {
  segment: JournalSegment;
  /** Held in memory (as the journal wrote them) while under the buffer limit; otherwise read back from the segment. */
  lines?: LedgerLines;
  count: number;
  failedBefore: boolean;
  inFlight?: boolean;
}

interface Metrics {
  pending: Gauge;
  written: Counter;
  refused: Counter;
  journaled: Counter;
  failures: Counter;
  journalWritable: Gauge;
}

function metric<T extends Gauge | Counter>(registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make();
}

function createMetrics(registry: Registry): Metrics {
  const registers = [registry];
  return {
    pending: metric(registry, 'porta_usage_pending', () => new Gauge({ name: 'porta_usage_pending', help: 'Usage records accepted and not yet in the ledger.', registers })),
    written: metric(registry, 'porta_usage_written_total', () => new Counter({ name: 'porta_usage_written_total', help: 'Usage records written to the ledger.', registers })),
    refused: metric(registry, 'porta_usage_refused_total', () => new Counter({ name: 'porta_usage_refused_total', help: 'Usage records refused because the journal could not be written (the request was refused).', registers })),
    journaled: metric(registry, 'porta_usage_journaled_total', () => new Counter({ name: 'porta_usage_journaled_total', help: 'Usage records that waited in the local journal because the ledger failed.', registers })),
    failures: metric(registry, 'porta_usage_ledger_failures_total', () => new Counter({ name: 'porta_usage_ledger_failures_total', help: 'Failed ledger appends of usage batches.', registers })),
    journalWritable: metric(registry, 'porta_usage_journal_writable', () => new Gauge({ name: 'porta_usage_journal_writable', help: '1 while the usage journal can be written; 0 means billable traffic is refused.', registers })),
  };
}

/** Different tallied records held at most before they are journaled early (bounds memory with many people at once). */
const TALLY_MAX_KEYS = 1024;
/**
 * How long equal requests are counted together before they are journaled. Longer than the journal's
 * group commit (5 ms): each window ends in a journal write of a few lines, ~100 µs of the gateway's
 * core here whatever the lines; 20 ms makes that 50 writes a second instead of 200 (~3 % of a proxied
 * request's CPU at 1 000 req/s, measured with BENCH_METER=tally:25 against the 5 ms window). The price:
 * a SIGKILLed gateway loses at most its last 20 ms of request counts (SIGTERM loses nothing).
 */
export const TALLY_WINDOW_MS = 20;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`ledger append took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function validate(input: UsageInput): void {
  if (typeof input.subject !== 'string' || input.subject === '') throw new TypeError('A usage record needs a subject.');
  if (typeof input.service !== 'string' || input.service === '') throw new TypeError('A usage record needs a service.');
  if (input.kind !== 'request' && input.kind !== 'storage' && input.kind !== 'meeting') throw new TypeError(`Unknown usage kind "${String(input.kind)}".`);
  // The journal line, and the ledger batch made of it, hold the id and time between tabs.
  if (input.id !== undefined && !isLedgerId(input.id)) throw new TypeError('A usage record id must be a non-empty string without control characters.');
  if (input.time !== undefined && (!Number.isSafeInteger(input.time) || input.time < 0)) throw new TypeError('A usage record time must be whole milliseconds since the epoch.');
}

/** `"kind":value` for a unit amount the ledger may hold (a finite amount, never negative), appended to `json`. */
function withUnit(json: string, kind: UnitKind, value: unknown): string {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) return json;
  return `${json}${json === '' ? '' : ','}"${kind}":${value}`; // a finite number prints as JSON does
}

/** `,"name":<JSON of value>` for a field that is present. */
function withField(json: string, name: string, value: unknown): string {
  const encoded = value === undefined ? undefined : (JSON.stringify(value) as string | undefined);
  return encoded === undefined ? json : `${json},"${name}":${encoded}`;
}

/**
 * Copies only the fields a usage record may hold (whatever else a producer's object carries, an IP
 * address, a raw path, headers, never reaches the journal or the ledger) and encodes them once, as
 * the ledger stores them: the journal and the ledger get the same JSON. Written as a string directly
 * (the JSON of `{subject, service, kind, units, collective?, routeClass?, method?, status?,
 * durationMs?}`) rather than through two intermediate objects: this runs once per proxied request.
 */
function encodeUsage(input: UsageInput, clock: Clock): EncodedLedgerEntry {
  const given = input.units;
  let units = '';
  if (given) for (const kind of UNIT_KINDS) units = withUnit(units, kind, given[kind]);
  let json = `{"subject":${JSON.stringify(input.subject)},"service":${JSON.stringify(input.service)},"kind":${JSON.stringify(input.kind)},"units":{${units}}`;
  json = withField(json, 'collective', input.collective);
  json = withField(json, 'routeClass', input.routeClass);
  json = withField(json, 'method', input.method);
  json = withField(json, 'status', input.status);
  json = withField(json, 'durationMs', input.durationMs);
  return { id: input.id ?? newId(), time: input.time ?? clock.now(), json: `${json}}` };
}

export function createUsageRecorder(options: UsageRecorderOptions): UsageRecorder {
  const { ledger, journal, clock, logger, flushIntervalMs, flushBatchSize, bufferLimit } = options;
  const stream = options.stream ?? USAGE_STREAM;
  const appendTimeoutMs = options.appendTimeoutMs ?? 5000;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? 5000;
  const maxInFlight = options.maxInFlight ?? 4;
  const metrics = options.metrics ? createMetrics(options.metrics) : undefined;

  /** Records in the journal's open segment. */
  let current = 0;
  const queue: Batch[] = [];
  let inMemory = 0;
  let pending = 0;
  let closed = false;
  let flushing: Promise<void> | undefined;
  let flushSoon = false;
  let consecutiveFailures = 0;
  let retryAt = 0;
  let lastError: unknown;
  const stats = { written: 0, refused: 0, journaled: 0, ledgerFailures: 0 };

  const setPending = (delta: number) => {
    pending += delta;
    metrics?.pending.set(pending);
  };
  let journalWritable = journal.writable;
  metrics?.journalWritable.set(journalWritable ? 1 : 0);

  const leftovers = journal.leftovers();
  for (const segment of leftovers) queue.push({ segment, count: 0, failedBefore: true });
  if (leftovers.length > 0) logger.info({ segments: leftovers.length, dir: journal.dir }, 'usage journal holds records from an earlier run; replaying them into the ledger');

  function seal(): void {
    if (current === 0) return;
    const sealed = journal.seal();
    if (sealed === undefined) return; // cannot happen: every record counted in `current` was appended to the open segment
    const { lines, ...segment } = sealed;
    // Past the buffer limit, keep only the count: the records are on disk and are read back when flushed.
    // Unless a write to the segment failed: then memory holds the only whole copy.
    const keep = inMemory <= bufferLimit || segment.complete === false;
    if (!keep) inMemory -= lines.count;
    queue.push({ segment, lines: keep ? lines : undefined, count: lines.count, failedBefore: false });
    current = 0;
  }

  function scheduleFlush(): void {
    if (flushSoon || closed) return;
    flushSoon = true;
    setImmediate(() => {
      flushSoon = false;
      void drain(false);
    });
  }

  async function writeBatch(batch: Batch): Promise<boolean> {
    let records: LedgerBatch | undefined = batch.lines;
    if (records === undefined) {
      let read: EncodedLedgerEntry[];
      try {
        read = await journal.read(batch.segment);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        // Someone removed the file: nothing left to write. Say so loudly; retrying cannot bring it back.
        logger.error({ segment: batch.segment.name, records: batch.count }, 'usage journal segment vanished before it reached the ledger');
        setPending(-batch.count);
        return true;
      }
      if (batch.count === 0) setPending(read.length); // a leftover: now we know its size
      batch.count = read.length;
      records = read;
    }
    let added: number;
    try {
      added = await withTimeout(ledger.append(stream, records), appendTimeoutMs);
    } catch (err) {
      // The segment is now the only copy for a while: force it to disk (on success it is deleted unsynced).
      await journal.sync(batch.segment).catch((syncErr: unknown) => logger.warn({ err: syncErr, segment: batch.segment.name }, 'usage journal segment could not be synced'));
      stats.ledgerFailures += 1;
      metrics?.failures.inc();
      if (!batch.failedBefore) {
        batch.failedBefore = true;
        stats.journaled += batch.count;
        metrics?.journaled.inc(batch.count);
      }
      lastError = err;
      return false;
    }
    await journal.remove(batch.segment);
    if (batch.lines !== undefined) inMemory -= batch.count;
    stats.written += added;
    metrics?.written.inc(added);
    setPending(-batch.count);
    return true;
  }

  /**
   * Writes sealed batches until the queue is empty or the ledger fails. Single flight, but up to
   * `maxInFlight` appends at once (the round trips overlap); ids make their order irrelevant.
   */
  async function drain(force: boolean): Promise<void> {
    if ((flushing || closed) && !force) return; // after close only close() itself drains
    while (flushing) await flushing;
    if (!force && performance.now() < retryAt) return;
    const run = (async () => {
      let failed = false;
      const worker = async () => {
        while (!failed) {
          const batch = queue.find((b) => !b.inFlight);
          if (batch === undefined) return;
          batch.inFlight = true;
          let ok: boolean;
          try {
            ok = await writeBatch(batch);
          } catch (err) {
            logger.error({ err, segment: batch.segment.name }, 'usage journal segment could not be read back');
            ok = false;
          }
          batch.inFlight = false;
          if (ok) queue.splice(queue.indexOf(batch), 1);
          else failed = true;
        }
      };
      await Promise.all(Array.from({ length: maxInFlight }, worker));
      if (failed) {
        if (consecutiveFailures === 0) logger.error({ err: lastError, stream }, 'usage ledger append failed: keeping usage records in the local journal until it answers');
        consecutiveFailures += 1;
        const delay = Math.min(flushIntervalMs * 2 ** consecutiveFailures, maxRetryDelayMs);
        retryAt = performance.now() + delay; // operational backoff: monotonic time, not the domain clock
      } else if (consecutiveFailures > 0) {
        logger.info({ stream, pending }, 'usage ledger answers again: journal replayed');
        consecutiveFailures = 0;
        retryAt = 0;
      }
    })();
    flushing = run.finally(() => {
      flushing = undefined;
    });
    await flushing;
  }

  const timer = setInterval(() => {
    seal();
    if (queue.length > 0) void drain(false);
  }, flushIntervalMs);
  timer.unref();
  if (queue.length > 0) scheduleFlush();

  /** Encodes a record into the open journal segment; false when the journal refused it. */
  function append(input: UsageInput): boolean {
    const entry = encodeUsage(input, clock);
    const kept = journal.append(entry);
    if (kept !== journalWritable) {
      journalWritable = kept;
      metrics?.journalWritable.set(kept ? 1 : 0);
    }
    if (!kept) {
      stats.refused += 1;
      metrics?.refused.inc();
      return false;
    }
    current += 1;
    inMemory += 1;
    setPending(1);
    if (current >= flushBatchSize) {
      seal();
      scheduleFlush();
    }
    return true;
  }

  const newTallyId = idSequence();
  // Tallied records go to the journal together at the end of each window, and are written at once.
  const tally = createTally({
    windowMs: options.tallyWindowMs ?? TALLY_WINDOW_MS,
    maxKeys: TALLY_MAX_KEYS,
    clock,
    // A window the journal refuses (the disk failed since) is counted in `refused`, logged by the
    // journal, and the next tally() refuses: the gateway then refuses billable traffic.
    write: (merged) => {
      for (const record of merged) {
        record.id = newTallyId();
        append(record);
      }
      journal.commit();
    },
  });

  return {
    record(input) {
      if (closed) return false;
      validate(input);
      return append(input);
    },
    tally(input) {
      if (closed) return false;
      if (!journal.writable) {
        stats.refused += 1;
        metrics?.refused.inc();
        return false;
      }
      validate(input);
      tally.add(input);
      return true;
    },
    journaled() {
      tally.drain();
      return journal.committed();
    },
    async flush() {
      tally.drain();
      seal();
      await drain(true);
      return queue.length === 0 && current === 0;
    },
    async close() {
      closed = true;
      clearInterval(timer);
      tally.close();
      seal();
      await drain(true);
      journal.close();
      const done = queue.length === 0;
      if (!done) logger.warn({ pending }, 'usage recorder closed with records still in the journal; they are replayed at the next start');
      return done;
    },
    get healthy() {
      return journal.writable;
    },
    stats() {
      return { pending, ...stats, degraded: consecutiveFailures > 0 };
    },
  };
}
