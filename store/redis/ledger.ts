/**
 * Ledger on Redis, per stream (all keys share the stream as hash tag):
 *   data  hash    id -> "<time> <json>"   HSETNX makes append idempotent by id
 *   time  zset    score = record time     range by time; equal scores sort by id, as the port asks
 *   log   zset    score = append sequence read in append order; the cursor is the sequence number
 *   seq   counter
 * Why not a Stream (XADD): stream ids must grow monotonically, but usage records arrive with their
 * own times out of order (several gateways batch them), so `range` by time would need a full scan,
 * deleting by time likewise, and idempotency needs a second structure anyway. Sorted sets give all
 * three directly, each append is one Lua script (a few batched commands per call, not per entry).
 * Pages are keyset pages: `read` continues after a sequence number, `range` after the rank of the
 * last (time, id) returned, so no page skips over the ones before it.
 */
import type { EncodedLedgerEntry, Ledger, LedgerBatch, LedgerEntry, LedgerPage } from '../types.ts';
import { assertStream, encodeEntries, isLedgerLineAt, isLedgerLines, ledgerLine, parseCursor, readLimit } from '../ledger-entries.ts';
import type { RedisClient } from './connect.ts';
import type { RedisKeys } from './keys.ts';
import type { Scripts } from './scripts.ts';

/**
 * Entries per append script call: bounds the time one script blocks Redis, which serves no other
 * client meanwhile (the gateways' rate limits and sessions wait behind it). Appending costs Redis
 * ~10 µs an entry on the 2-core benchmark machine whatever the chunk, so 100 blocks for ~1 ms
 * where 500 blocked for ~5 ms. Idempotency makes a partial batch safe to retry.
 */
const APPEND_CHUNK = 100;
const RANGE_PAGE = 500;
const DELETE_CHUNK = 500;

/**
 * Cuts lines every APPEND_CHUNK newlines without decoding them, after checking every line with the
 * embedded ledger's rule (`isLedgerLineAt`) before any chunk is sent: a batch with a malformed line
 * writes nothing, rather than its chunks before that line.
 */
function chunksOf(lines: Buffer): Buffer[] {
  const chunks: Buffer[] = [];
  let chunkStart = 0;
  let inChunk = 0;
  let index = 0; // of the line among the non-empty ones, as the embedded ledger counts
  for (let start = 0; start < lines.length; ) {
    let end = lines.indexOf(0x0a, start);
    if (end === -1) end = lines.length;
    if (end > start) {
      if (!isLedgerLineAt(lines, start, end)) throw new TypeError(`lines[${index}] is not "id<TAB>time<TAB>json".`);
      index++;
      if (++inChunk === APPEND_CHUNK) {
        chunks.push(lines.subarray(chunkStart, end));
        chunkStart = end + 1;
        inChunk = 0;
      }
    }
    start = end + 1;
  }
  if (inChunk > 0) chunks.push(lines.subarray(chunkStart, lines.length));
  return chunks;
}

/** Checks every entry first (a bad one writes none of the batch), then encodes them as lines in chunks. */
function* encodedChunks(entries: ReadonlyArray<LedgerEntry | EncodedLedgerEntry>): Iterable<Buffer> {
  const encoded = encodeEntries(entries);
  for (let i = 0; i < encoded.length; i += APPEND_CHUNK) {
    const lines: string[] = [];
    for (let j = i; j < Math.min(i + APPEND_CHUNK, encoded.length); j++) lines.push(ledgerLine(encoded[j].id, encoded[j].time, encoded[j].data));
    yield Buffer.from(lines.join('\n'));
  }
}

export class RedisLedger implements Ledger {
  private readonly client: RedisClient;
  private readonly keys: RedisKeys;
  private readonly scripts: Scripts;

  constructor(client: RedisClient, keys: RedisKeys, scripts: Scripts) {
    this.client = client;
    this.keys = keys;
    this.scripts = scripts;
  }

  async append(stream: string, entries: LedgerBatch): Promise<number> {
    assertStream(stream);
    const k = this.keys.ledger(stream);
    let added = 0;
    // The script takes `id <TAB> time <TAB> json` lines as one argument: the lines of a LedgerLines
    // batch as they are, cut every APPEND_CHUNK lines. A Buffer, not a string: ioredis handed a large
    // string kept it alive through V8's minor GCs (12 ms scavenges on the gateway's core).
    for (const chunk of isLedgerLines(entries) ? chunksOf(entries.lines) : encodedChunks(entries)) {
      added += Number(await this.scripts.run('portaLedgerAppend', [k.data, k.time, k.log, k.seq], [chunk]));
    }
    return added;
  }

  async read(stream: string, options: { after?: string; limit?: number } = {}): Promise<LedgerPage> {
    assertStream(stream);
    const after = options.after === undefined ? 0 : parseCursor(options.after);
    const limit = readLimit(options.limit);
    const k = this.keys.ledger(stream);
    const rows = await this.page(k.log, k.data, `(${after}`, '+inf', 0, limit + 1);
    const page = rows.slice(0, limit);
    return { entries: page.map((r) => r.entry), next: rows.length > limit ? page[page.length - 1].score : undefined };
  }

  /**
   * Each page continues after the last (time, id) returned (see portaLedgerRange), so entries appended
   * or deleted elsewhere in the stream while a range is read neither repeat nor skip the ones after it.
   */
  async *range(stream: string, from: number, to: number): AsyncIterable<LedgerEntry> {
    assertStream(stream);
    const k = this.keys.ledger(stream);
    let after = { id: '', score: '' };
    for (;;) {
      const flat = (await this.scripts.run('portaLedgerRange', [k.time, k.data], [from, to, RANGE_PAGE, after.id, after.score])) as string[];
      const rows = decodeRows(flat);
      for (const row of rows) yield row.entry;
      if (rows.length < RANGE_PAGE) return;
      const last = rows[rows.length - 1];
      after = { id: last.entry.id, score: last.score };
    }
  }

  async deleteBefore(stream: string, before: number): Promise<number> {
    assertStream(stream);
    const k = this.keys.ledger(stream);
    let deleted = 0;
    for (;;) {
      const n = Number(await this.scripts.run('portaLedgerDeleteBefore', [k.data, k.time, k.log], [before, DELETE_CHUNK]));
      deleted += n;
      if (n < DELETE_CHUNK) return deleted;
    }
  }

  async count(stream: string): Promise<number> {
    assertStream(stream);
    return this.client.hlen(this.keys.ledger(stream).data);
  }

  private async page(zset: string, data: string, min: string, max: string, offset: number, count: number): Promise<Array<{ score: string; entry: LedgerEntry }>> {
    return decodeRows((await this.scripts.run('portaLedgerPage', [zset, data], [min, max, offset, count])) as string[]);
  }
}

/** Flat (id, score, payload) triples from the page scripts; a payload is "<time> <json>". */
function decodeRows(flat: string[]): Array<{ score: string; entry: LedgerEntry }> {
  const rows: Array<{ score: string; entry: LedgerEntry }> = [];
  for (let i = 0; i < flat.length; i += 3) {
    const payload = flat[i + 2];
    const space = payload.indexOf(' ');
    rows.push({
      score: flat[i + 1],
      entry: { id: flat[i], time: Number(payload.slice(0, space)), data: JSON.parse(payload.slice(space + 1)) as Record<string, unknown> },
    });
  }
  return rows;
}
