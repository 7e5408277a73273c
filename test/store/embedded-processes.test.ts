/** Several processes on one embedded file: reservations stay atomic across processes (IMMEDIATE transactions). */
import { describe, it, expect, afterAll } from '@jest/globals';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEmbeddedStores } from '../../store/embedded/index.ts';

const CHILD = fileURLToPath(new URL('./reserve-child.ts', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'porta-procs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a child; `ready` resolves when it opened the store, `granted` with its count when it exits. */
function child(args: string[]): { ready: Promise<void>; granted: Promise<number> } {
  const proc = spawn(process.execPath, [CHILD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  proc.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('ready\n')) onReady();
  });
  proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const granted = new Promise<number>((resolve, reject) =>
    proc.once('exit', (code) => {
      const m = /granted (\d+)/.exec(out);
      if (code === 0 && m) resolve(Number(m[1]));
      else reject(new Error(`child failed (code ${code}): ${err.trim()}`));
    }),
  );
  granted.catch(() => onReady()); // a child that dies before "ready" must not hang the test
  return { ready, granted };
}

describe('embedded store shared by processes', () => {
  it('never lets reservations from three processes together pass the limit', async () => {
    const path = join(dir, 'porta.db');
    const stores = await createEmbeddedStores({ path });
    const children = Array.from({ length: 3 }, () => child([path, 'quota:coop', '60', '10', '1000']));
    await Promise.all(children.map((c) => c.ready));
    await stores.kv.set('go', '1');
    const granted = await Promise.all(children.map((c) => c.granted));
    expect(granted.reduce((a, b) => a + b, 0)).toBe(100);
    expect(await stores.counters.get('quota:coop')).toBe(1000);
    await stores.close();
  });
});
