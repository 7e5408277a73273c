/** Contract of Ledger; runs against every store implementation. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { Ledger, LedgerEntry } from '../../store/types.ts';
import { unique, type MakeStores, type StoreHarness } from './kv.contract.ts';

const T0 = Date.UTC(2026, 0, 1);
const entry = (id: string, time: number, data: Record<string, unknown> = { service: 'oficina', bytes: 1 }): LedgerEntry => ({ id, time, data });

async function collect(iterable: AsyncIterable<LedgerEntry>): Promise<LedgerEntry[]> {
  const out: LedgerEntry[] = [];
  for await (const e of iterable) out.push(e);
  return out;
}

async function readAll(ledger: Ledger, stream: string, limit: number): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let after: string | undefined;
  let pages = 0;
  do {
    const page = await ledger.read(stream, { after, limit });
    pages++;
    ids.push(...page.entries.map((e) => e.id));
    after = page.next;
  } while (after !== undefined && pages < 1000);
  return { ids, pages };
}

export function runLedgerContract(name: string, makeStores: MakeStores): void {
  describe(`Ledger contract: ${name}`, () => {
    let h: StoreHarness;
    beforeAll(async () => {
      h = await makeStores();
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it('appends entries and round-trips their data', async () => {
      const stream = unique('usage');
      const data = { subject: 'acct-1', service: 'meetings', minutes: 42.5, tags: ['host'], nested: { plan: 'supporter' } };
      expect(await h.stores.ledger.append(stream, [entry('r1', T0, data)])).toBe(1);
      expect(await h.stores.ledger.count(stream)).toBe(1);
      const page = await h.stores.ledger.read(stream);
      expect(page.entries).toEqual([{ id: 'r1', time: T0, data }]);
      expect(page.next).toBeUndefined();
    });

    it('round-trips data holding tabs, newlines and non-ASCII text, and ids of any printable text', async () => {
      const stream = unique('usage');
      const data = { note: 'line one\nline\ttwo\r\n', name: 'Núria Puig ✓', quote: '"\\' };
      const ids = ['a b c', 'ñ-1', 'x'.repeat(200)];
      expect(await h.stores.ledger.append(stream, ids.map((id) => entry(id, T0, data)))).toBe(3);
      const page = await h.stores.ledger.read(stream);
      expect(page.entries).toEqual(ids.map((id) => ({ id, time: T0, data })));
    });

    it('takes entries already encoded by their producer, mixed with plain ones, and reads them back as data', async () => {
      const stream = unique('usage');
      const data = { subject: 'acct-2', units: { requests: 1 } };
      expect(await h.stores.ledger.append(stream, [{ id: 'e1', time: T0, json: JSON.stringify(data) }, entry('p1', T0 + 1, data)])).toBe(2);
      expect((await h.stores.ledger.read(stream)).entries).toEqual([
        { id: 'e1', time: T0, data },
        { id: 'p1', time: T0 + 1, data },
      ]);
      await expect(h.stores.ledger.append(stream, [{ id: 'e2', time: T0, json: '"not an object"' }])).rejects.toThrow(/entries\[0\]\.json/);
      await expect(h.stores.ledger.append(stream, [{ id: 'e3', time: T0, json: '{"a":\n1}' }])).rejects.toThrow(/on one line/);
    });

    it('takes a batch as journal lines (id, time, json between tabs), in chunks, idempotently', async () => {
      const stream = unique('usage');
      const data = { subject: 'acct-3', note: 'tab\tand newline\n inside', units: { requests: 1 } };
      const count = 1203; // more than one append chunk
      const text = Array.from({ length: count }, (_, i) => `l${i}\t${T0 + i}\t${JSON.stringify(data)}\n`).join('');
      expect(await h.stores.ledger.append(stream, { lines: Buffer.from(text), count })).toBe(count);
      expect(await h.stores.ledger.append(stream, { lines: Buffer.from(text), count })).toBe(0);
      expect(await h.stores.ledger.count(stream)).toBe(count);
      const first = (await h.stores.ledger.read(stream, { limit: 2 })).entries;
      expect(first).toEqual([
        { id: 'l0', time: T0, data },
        { id: 'l1', time: T0 + 1, data },
      ]);
      const all = await collect(h.stores.ledger.range(stream, T0 + 1200, T0 + 2000));
      expect(all.map((e) => e.id)).toEqual(['l1200', 'l1201', 'l1202']);
    });

    it('refuses lines that are not "id<TAB>time<TAB>json" and writes none of them', async () => {
      const stream = unique('usage');
      const lines = Buffer.from(`ok1\t${T0}\t{}\nno tabs here\n`);
      await expect(h.stores.ledger.append(stream, { lines, count: 2 })).rejects.toThrow();
      expect(await h.stores.ledger.count(stream)).toBe(0);
      // Far into a batch (past the Redis ledger's first chunks), and a time that is not a number.
      const good = Array.from({ length: 450 }, (_, i) => `g${i}\t${T0 + i}\t{}\n`).join('');
      for (const bad of ['no tabs here', `\t${T0}\t{}`, 'id\tsoon\t{}', `id\t${T0}`, 'id\t1e12\t{}', 'id\t 12\t{}', `id\t${'9'.repeat(16)}\t{}`]) {
        await expect(h.stores.ledger.append(stream, { lines: Buffer.from(`${good}${bad}\n`), count: 451 })).rejects.toThrow(/lines\[450\]/);
        expect(await h.stores.ledger.count(stream)).toBe(0);
      }
    });

    it('skips empty lines in a batch of lines', async () => {
      const stream = unique('usage');
      const text = Array.from({ length: 250 }, (_, i) => `e${i}\t${T0 + i}\t{"n":${i}}\n${i % 60 === 0 ? '\n' : ''}`).join('');
      expect(await h.stores.ledger.append(stream, { lines: Buffer.from(text), count: 250 })).toBe(250);
      const all = await collect(h.stores.ledger.range(stream, T0, T0 + 1000));
      expect(all.map((e) => e.data.n)).toEqual(Array.from({ length: 250 }, (_, i) => i));
    });

    it('is idempotent by id: a retried batch counts once', async () => {
      const stream = unique('usage');
      const batch = [entry('a', T0), entry('b', T0 + 1), entry('c', T0 + 2)];
      expect(await h.stores.ledger.append(stream, batch)).toBe(3);
      expect(await h.stores.ledger.append(stream, batch)).toBe(0);
      expect(await h.stores.ledger.append(stream, [entry('c', T0 + 2), entry('d', T0 + 3)])).toBe(1);
      expect(await h.stores.ledger.append(stream, [entry('e', T0), entry('e', T0)])).toBe(1);
      expect(await h.stores.ledger.count(stream)).toBe(5);
      // The first write of an id wins; a retry with other data does not change it.
      await h.stores.ledger.append(stream, [entry('a', T0, { bytes: 999 })]);
      const all = await collect(h.stores.ledger.range(stream, 0, T0 + 10));
      expect(all.find((e) => e.id === 'a')?.data).toEqual({ service: 'oficina', bytes: 1 });
    });

    it('counts each id once when the same batch is retried concurrently', async () => {
      const stream = unique('usage');
      const batch = Array.from({ length: 20 }, (_, i) => entry(`id-${i}`, T0 + i));
      const added = await Promise.all(Array.from({ length: 10 }, () => h.stores.ledger.append(stream, batch)));
      expect(added.reduce((a, b) => a + b, 0)).toBe(20);
      expect(await h.stores.ledger.count(stream)).toBe(20);
    });

    it('reads in append order, page by page, with next undefined at the end', async () => {
      const stream = unique('usage');
      // Times out of order on purpose: read follows append order, not time.
      await h.stores.ledger.append(stream, [entry('x1', T0 + 50), entry('x2', T0 + 10)]);
      await h.stores.ledger.append(stream, [entry('x3', T0 + 30), entry('x4', T0 + 20), entry('x5', T0)]);
      const { ids, pages } = await readAll(h.stores.ledger, stream, 2);
      expect(ids).toEqual(['x1', 'x2', 'x3', 'x4', 'x5']);
      expect(pages).toBe(3);
      const first = await h.stores.ledger.read(stream, { limit: 5 });
      expect(first.entries).toHaveLength(5);
      expect(first.next).toBeUndefined();
      // Reading on from a cursor sees entries appended later.
      const mid = await h.stores.ledger.read(stream, { limit: 4 });
      expect(mid.next).toBeDefined();
      await h.stores.ledger.append(stream, [entry('x6', T0 + 1)]);
      const rest = await h.stores.ledger.read(stream, { after: mid.next });
      expect(rest.entries.map((e) => e.id)).toEqual(['x5', 'x6']);
      expect((await h.stores.ledger.read(unique('empty'))).entries).toEqual([]);
    });

    it('refuses an empty stream name', async () => {
      await expect(h.stores.ledger.append('', [entry('a', T0)])).rejects.toThrow(/stream/);
      await expect(h.stores.ledger.count('')).rejects.toThrow(/stream/);
    });

    it('refuses a cursor it did not issue and a bad limit', async () => {
      await expect(h.stores.ledger.read(unique('usage'), { after: 'not-a-cursor' })).rejects.toThrow(/cursor/);
      await expect(h.stores.ledger.read(unique('usage'), { limit: 0 })).rejects.toThrow(/limit/);
    });

    it('ranges by time, from inclusive to exclusive, ordered by time then id', async () => {
      const stream = unique('usage');
      await h.stores.ledger.append(stream, [
        entry('m', T0 + 200), entry('b', T0 + 100), entry('a', T0 + 100), entry('z', T0 + 99), entry('late', T0 + 300), entry('early', T0 - 1),
      ]);
      const got = await collect(h.stores.ledger.range(stream, T0, T0 + 300));
      expect(got.map((e) => e.id)).toEqual(['z', 'a', 'b', 'm']);
      expect((await collect(h.stores.ledger.range(stream, T0 + 300, T0 + 301))).map((e) => e.id)).toEqual(['late']);
      expect(await collect(h.stores.ledger.range(stream, T0 + 1000, T0 + 2000))).toEqual([]);
    });

    it('ranges over more entries than fit in one page', async () => {
      const stream = unique('usage');
      const many = Array.from({ length: 1203 }, (_, i) => entry(`e-${String(i).padStart(5, '0')}`, T0 + Math.floor(i / 3)));
      expect(await h.stores.ledger.append(stream, many)).toBe(1203);
      const got = await collect(h.stores.ledger.range(stream, T0, T0 + 10_000));
      expect(got).toHaveLength(1203);
      expect(got.map((e) => e.id)).toEqual(many.map((e) => e.id));
    });

    it('pages a range across many entries with the same time, ordered by id', async () => {
      const stream = unique('usage');
      // 1 100 entries in one millisecond, appended in no particular order, between neighbours on both sides.
      const tied = Array.from({ length: 1100 }, (_, i) => entry(`t-${String((i * 7919) % 1100).padStart(4, '0')}`, T0 + 5));
      const ids = tied.map((e) => e.id).sort();
      await h.stores.ledger.append(stream, [entry('before', T0 + 4), ...tied.slice(0, 600), entry('after', T0 + 6), entry('A-upper', T0 + 5)]);
      await h.stores.ledger.append(stream, tied.slice(600));
      // Byte order: upper case sorts before lower case.
      expect((await collect(h.stores.ledger.range(stream, T0 + 5, T0 + 6))).map((e) => e.id)).toEqual(['A-upper', ...ids]);
      const all = (await collect(h.stores.ledger.range(stream, T0, T0 + 10))).map((e) => e.id);
      expect(all).toEqual(['before', 'A-upper', ...ids, 'after']);
      expect(new Set(all).size).toBe(all.length);
    });

    it('reads a range on from where it is while entries before that point are deleted and appended', async () => {
      const stream = unique('usage');
      const many = Array.from({ length: 1200 }, (_, i) => entry(`r-${String(i).padStart(4, '0')}`, T0 + 10 * i));
      await h.stores.ledger.append(stream, many);
      const seen: string[] = [];
      for await (const e of h.stores.ledger.range(stream, T0, T0 + 100_000)) {
        seen.push(e.id);
        // Retention runs meanwhile and takes the entry just read (the point the next page starts
        // from), and late records arrive for times already passed: neither may shift what follows.
        await h.stores.ledger.deleteBefore(stream, e.time + 1);
        if (seen.length % 7 === 0) await h.stores.ledger.append(stream, [entry(`late-${seen.length}`, e.time - 5)]);
      }
      expect(seen).toEqual(many.map((e) => e.id));
    });

    it('counts only new ids in a large batch that repeats stored ones', async () => {
      const stream = unique('usage');
      const first = Array.from({ length: 700 }, (_, i) => entry(`b-${i}`, T0 + i));
      expect(await h.stores.ledger.append(stream, first)).toBe(700);
      // Every other id is already stored, some twice within the batch (the first copy wins).
      const second = Array.from({ length: 1400 }, (_, i) => entry(`b-${i}`, T0 + i, { round: 2 }));
      const repeated = [...second, ...second.slice(1300).map((e) => ({ ...e, data: { round: 3 } }))];
      expect(await h.stores.ledger.append(stream, repeated)).toBe(700);
      expect(await h.stores.ledger.count(stream)).toBe(1400);
      const all = await collect(h.stores.ledger.range(stream, T0, T0 + 2000));
      expect(all.map((e) => e.data.round ?? 1)).toEqual([...Array(700).fill(1), ...Array(700).fill(2)]);
      const log = await readAll(h.stores.ledger, stream, 1000);
      expect(log.ids).toEqual([...first.map((e) => e.id), ...second.slice(700).map((e) => e.id)]);
    });

    it('deletes entries older than a time and keeps the rest', async () => {
      const stream = unique('usage');
      await h.stores.ledger.append(stream, [entry('old1', T0), entry('old2', T0 + 1), entry('keep', T0 + 2)]);
      expect(await h.stores.ledger.deleteBefore(stream, T0 + 2)).toBe(2);
      expect(await h.stores.ledger.count(stream)).toBe(1);
      expect((await h.stores.ledger.read(stream)).entries.map((e) => e.id)).toEqual(['keep']);
      expect((await collect(h.stores.ledger.range(stream, 0, T0 + 10))).map((e) => e.id)).toEqual(['keep']);
      expect(await h.stores.ledger.deleteBefore(stream, T0 + 2)).toBe(0);
    });

    it('keeps streams apart', async () => {
      const [s1, s2] = [unique('usage'), unique('audit')];
      await h.stores.ledger.append(s1, [entry('same-id', T0)]);
      expect(await h.stores.ledger.append(s2, [entry('same-id', T0)])).toBe(1);
      expect(await h.stores.ledger.count(s1)).toBe(1);
      expect(await h.stores.ledger.count(s2)).toBe(1);
      await h.stores.ledger.deleteBefore(s1, T0 + 1);
      expect(await h.stores.ledger.count(s2)).toBe(1);
    });

    it('refuses a batch with an invalid entry and writes none of it', async () => {
      const stream = unique('usage');
      const bad = [entry('ok', T0), { id: '', time: T0, data: {} }];
      await expect(h.stores.ledger.append(stream, bad)).rejects.toThrow(/entries\[1\]\.id/);
      await expect(h.stores.ledger.append(stream, [entry('ok', T0), entry('big', T0, { n: 1n })])).rejects.toThrow(/entries\[1\]\.data/);
      await expect(h.stores.ledger.append(stream, [entry('ok', T0), entry('tab\there', T0)])).rejects.toThrow(/entries\[1\]\.id .*control characters/);
      await expect(h.stores.ledger.append(stream, [entry('new\nline', T0)])).rejects.toThrow(/control characters/);
      expect(await h.stores.ledger.count(stream)).toBe(0);
    });
  });
}
