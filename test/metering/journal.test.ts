import { describe, it, expect, afterAll } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../../kernel/logger.ts';
import { openJournal } from '../../metering/journal.ts';
import type { UsageRecord } from '../../metering/types.ts';

const root = mkdtempSync(join(tmpdir(), 'porta-journal-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const rec = (id: string): UsageRecord => ({ id, time: 1, subject: 'anna', service: 'agora', kind: 'request', units: { requests: 1 } });

describe('usage journal', () => {
  it('hands a dead process\'s segments over in order, skipping a torn last line', async () => {
    const dir = join(root, 'leftovers');
    mkdirSync(dir);
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']).stdout.toString();
    writeFileSync(join(dir, 'journal.lock'), dead);
    writeFileSync(join(dir, '000000000002.jsonl'), `${JSON.stringify(rec('c'))}\n{"id":"d","ti`);
    writeFileSync(join(dir, '000000000001.jsonl'), `${JSON.stringify(rec('a'))}\n${JSON.stringify(rec('b'))}\n`);
    writeFileSync(join(dir, 'notes.txt'), 'not a segment');

    const journal = openJournal(dir, silentLogger);
    expect(journal.writable).toBe(true);
    expect(readFileSync(join(dir, 'journal.lock'), 'utf8')).toBe(String(process.pid));
    const leftovers = journal.leftovers();
    expect(leftovers.map((s) => s.name)).toEqual(['000000000001.jsonl', '000000000002.jsonl']);
    expect(journal.leftovers()).toEqual([]); // handed over once
    expect((await journal.read(leftovers[0])).map((r) => r.id)).toEqual(['a', 'b']);
    expect((await journal.read(leftovers[1])).map((r) => r.id)).toEqual(['c']);

    // New segments continue after the old numbers, so nothing is overwritten.
    expect(journal.append(rec('e'))).toBe(true);
    expect(journal.seal()?.name).toBe('000000000003.jsonl');
    expect(journal.seal()).toBeUndefined();
    journal.close();
  });

  it('writes records that survive the process: one JSON line each', async () => {
    const dir = join(root, 'lines');
    const journal = openJournal(dir, silentLogger);
    const withText = { ...rec('ü'), subject: 'añña "quoted"\nnewline' };
    expect(journal.append(withText)).toBe(true);
    expect(journal.append(rec('z'))).toBe(true);
    const segment = journal.seal()!;
    await journal.sync(segment);
    expect(readFileSync(segment.path, 'utf8').split('\n')).toHaveLength(3); // two lines and the final newline
    expect(await journal.read(segment)).toEqual([withText, rec('z')]);
    await journal.remove(segment);
    journal.close();
    expect(openJournal(dir, silentLogger).leftovers()).toEqual([]);
  });
});
