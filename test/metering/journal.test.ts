import { describe, it, expect, afterAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { silentLogger } from '../../kernel/logger.ts';
import { openJournal } from '../../metering/journal.ts';
import type { EncodedLedgerEntry } from '../../store/types.ts';
import type { UsageRecord } from '../../metering/types.ts';

const rootDir = mkdtempSync(join(tmpdir(), 'porta-journal-'));
afterAll(() => rmSync(rootDir, { recursive: true, force: true }));
const DATA = { subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } };
const rec = (id: string): EncodedLedgerEntry => ({ id, time: 1, json: JSON.stringify(DATA) });
/** A line as journals before 0.2 wrote it: the whole record as JSON. */
const legacy = (id: string): UsageRecord => ({ id, time: 1, ...DATA }) as UsageRecord;

describe('usage journal', () => {
  it('hands a dead process\'s segments over in order, skipping a torn last line', async () => {
    const root = join(rootDir, 'leftovers');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    const deadDir = join(root, `w-${dead}-00c0ffee`);
    mkdirSync(deadDir, { recursive: true });
    writeFileSync(join(deadDir, 'journal.lock'), dead);
    writeFileSync(join(deadDir, '000000000002.jsonl'), `c\t1\t${rec('c').json}\nd\t1\t{"subject":"an`);
    writeFileSync(join(deadDir, '000000000001.jsonl'), `${JSON.stringify(legacy('a'))}\n${JSON.stringify(legacy('b'))}\n{"id":"x","ti`);
    writeFileSync(join(root, 'notes.txt'), 'not a journal folder');

    const journal = openJournal(root, silentLogger);
    expect(journal.writable).toBe(true);
    expect(readFileSync(join(journal.dir, 'journal.lock'), 'utf8')).toBe(String(process.pid));
    expect(readdirSync(root).sort()).toEqual(['notes.txt', basename(journal.dir)]); // the dead folder is gone
    const leftovers = journal.leftovers();
    expect(leftovers.map((s) => s.name)).toEqual(['000000000001.jsonl', '000000000002.jsonl']);
    expect(journal.leftovers()).toEqual([]); // handed over once
    expect(await journal.read(leftovers[0])).toEqual([rec('a'), rec('b')]); // older segments still read
    expect(await journal.read(leftovers[1])).toEqual([rec('c')]);

    // New segments continue after the old numbers, so nothing is overwritten.
    expect(journal.append(rec('e'))).toBe(true);
    expect(journal.seal()?.name).toBe('000000000003.jsonl');
    expect(journal.seal()).toBeUndefined();
    journal.close();
  });

  it('writes records that survive the process: one line each, written together', async () => {
    const dir = join(rootDir, 'lines');
    const journal = openJournal(dir, silentLogger);
    const withText = { ...rec('ü'), json: JSON.stringify({ ...DATA, subject: 'añña "quoted"\nnewline\ttab' }) };
    expect(journal.append(withText)).toBe(true);
    expect(journal.append(rec('z'))).toBe(true);
    await journal.committed(); // within a few ms, without sealing
    const written = readdirSync(journal.dir).filter((name) => name.endsWith('.jsonl'));
    expect(readFileSync(join(journal.dir, written[0]), 'utf8').split('\n')).toHaveLength(3); // two lines and the final newline
    const segment = journal.seal()!;
    await journal.sync(segment);
    expect(await journal.read(segment)).toEqual([withText, rec('z')]);
    await journal.remove(segment);
    journal.close();
    expect(readdirSync(dir)).toEqual([]); // closed empty: its folder is removed
    expect(openJournal(dir, silentLogger).leftovers()).toEqual([]);
  });

  it('an explicit commit writes what is pending and leaves no timer to wake the process', () => {
    const journal = openJournal(join(rootDir, 'explicit'), silentLogger);
    const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    expect(journal.append(rec('t1'))).toBe(true);
    expect(journal.append(rec('t2'))).toBe(true);
    expect(timers()).toBe(before + 1); // the group commit, armed
    expect(journal.commit()).toBe(true);
    expect(timers()).toBe(before); // disarmed: nothing is left to write
    const written = readdirSync(journal.dir).filter((name) => name.endsWith('.jsonl'));
    expect(readFileSync(join(journal.dir, written[0]), 'utf8')).toContain('t2\t1\t');
    expect(journal.append(rec('t3'))).toBe(true); // and a later append arms it again
    expect(timers()).toBe(before + 1);
    journal.close();
    expect(timers()).toBe(before);
  });

  it('keeps every byte when records fill many write buffers: multi-byte text, a record larger than a buffer', async () => {
    const dir = join(rootDir, 'slabs');
    const journal = openJournal(dir, silentLogger);
    const entries: EncodedLedgerEntry[] = [];
    for (let i = 0; i < 3000; i++) {
      const subject = i % 7 === 0 ? `ñandú-€-😀-${i}` : `account-${i}`;
      entries.push({ id: `r${i}`, time: 1000 + i, json: JSON.stringify({ ...DATA, subject }) });
      if (i === 1500) entries.push({ id: 'big', time: 1, json: JSON.stringify({ ...DATA, subject: 'é'.repeat(100_000) }) });
    }
    for (const entry of entries) expect(journal.append(entry)).toBe(true);
    const segment = journal.seal()!;
    // What the recorder hands to the ledger (the bytes in memory) and what the disk holds are the same records, in order.
    expect(segment.lines.count).toBe(entries.length);
    const inMemory = segment.lines.lines.toString('utf8').split('\n').filter(Boolean);
    expect(inMemory).toHaveLength(entries.length);
    expect(inMemory.map((line) => line.split('\t')[0])).toEqual(entries.map((e) => e.id));
    expect(await journal.read(segment)).toEqual(entries);
    await journal.remove(segment);
    await journal.remove(segment); // removing twice is no error
    journal.close();
  });

  it('lets live processes share the root, each in its own folder, and adopts a closed one', async () => {
    const root = join(rootDir, 'shared');
    const first = openJournal(root, silentLogger);
    const second = openJournal(root, silentLogger);
    expect(first.dir).not.toBe(second.dir);
    expect(first.append(rec('1'))).toBe(true);
    first.seal();
    expect(first.append(rec('2'))).toBe(true);
    expect(second.leftovers()).toEqual([]);
    expect(openJournal(root, silentLogger).leftovers()).toEqual([]); // `first` is alive: its segments stay its own
    first.close(); // two segments left (the ledger did not take them): adoptable now
    const third = openJournal(root, silentLogger);
    const adopted = third.leftovers();
    expect((await Promise.all(adopted.map((s) => third.read(s)))).flat().map((r) => r.id)).toEqual(['1', '2']);
    second.close();
    third.close();
  });
});
