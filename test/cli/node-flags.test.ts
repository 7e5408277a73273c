import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../cli/node-flags.ts';

const ROOT = join(import.meta.dirname, '..', '..');

describe('the V8 flags every Porta process runs with (cli/node-flags.ts)', () => {
  it('are passed by `npm start`, `npm run porta` and the `porta` command itself', () => {
    const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    const flags = NODE_FLAGS.join(' ');
    expect(flags).toContain('--no-memory-reducer');
    expect(scripts.start).toBe(`node ${flags} cli/porta.ts start`);
    expect(scripts.porta).toBe(`node ${flags} cli/porta.ts`);
    expect(readFileSync(join(ROOT, 'cli', 'porta.ts'), 'utf8').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
    // The shebang runs (env -S splits the flags from the interpreter's name).
    const bin = spawnSync(join(ROOT, 'cli', 'porta.ts'), ['--help'], { encoding: 'utf8' });
    expect(bin.status).toBe(0);
    expect(bin.stdout).toMatch(/^Usage: porta <command>/);
  });

  it('are flags this Node accepts (a misspelt one would stop every start)', () => {
    const run = spawnSync(process.execPath, [...NODE_FLAGS, '-e', 'process.stdout.write("started")'], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toBe('started');
    const misspelt = spawnSync(process.execPath, ['--no-memory-reducerr', '-e', '0'], { encoding: 'utf8' });
    expect(misspelt.status).not.toBe(0); // so the check above can fail
  });
});
