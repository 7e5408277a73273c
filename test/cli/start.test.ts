/**
 * The two commands as a new user runs them: `porta start` on the embedded default, and a bad
 * configuration that stops start-up. Real processes, real HTTP.
 */
import { describe, it, expect, afterEach } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NODE_FLAGS } from '../../cli/node-flags.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const running: ChildProcess[] = [];

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** `node <NODE_FLAGS> cli/porta.ts …`, as `npm start` runs it (`nodeFlags` to run it otherwise). */
function porta(args: string[], env: Record<string, string>, nodeFlags: readonly string[] = NODE_FLAGS): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [...nodeFlags, 'cli/porta.ts', ...args], { cwd: ROOT, env: { ...process.env, PORTA_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => text, exited };
}

async function waitFor(predicate: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function tempConfig(extra = ''): { file: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'porta-start-'));
  const file = join(dir, 'porta.yaml');
  writeFileSync(file, `server:\n  idpPort: 0\n  gatewayPort: 0\nstore:\n  path: ${dir}/porta.db\ndataDir: ${dir}\nmetering:\n  journalPath: ${dir}/journal\n${extra}`);
  return { file, dir };
}

describe('porta start', () => {
  it('warns when Node was started without the flags Porta runs with, and still starts', async () => {
    const { file } = tempConfig();
    const run = porta(['start'], { PORTA_CONFIG: file }, []);
    await waitFor(() => (run.output().match(/ready at http:\/\/\S+/g) ?? []).length >= 2, 20000);
    expect(run.output()).toContain('started without the flags Porta runs with');
    expect(run.output()).toContain('--no-memory-reducer');
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
  });

  it('serves /healthz and /readyz on both listeners with nothing set up, and Ctrl-C exits 0 quickly', async () => {
    const { file } = tempConfig();
    const run = porta(['start'], { PORTA_CONFIG: file });
    await waitFor(() => (run.output().match(/ready at http:\/\/\S+/g) ?? []).length >= 2, 20000);
    const urls = [...run.output().matchAll(/Porta (\w+) ready at (http:\/\/\S+)/g)].map((m) => m[2]);
    expect(urls).toHaveLength(2);
    for (const url of urls) {
      expect((await fetch(`${url}/healthz`)).status).toBe(200);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ ready: true });
      const metrics = await fetch(`${url}/metrics`);
      expect(await metrics.text()).toContain('porta_http_requests_total');
    }
    expect(run.output()).not.toContain('started without the flags');
    const stoppedAt = Date.now();
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(Date.now() - stoppedAt).toBeLessThan(5000);
  });

  it('names both wrong keys of a bad configuration and exits 2 without starting', async () => {
    const { file } = tempConfig('idp:\n  issuer: not-a-url\ngateway:\n  sessionIdleSecnds: 5\n');
    const run = porta(['start'], { PORTA_CONFIG: file });
    expect(await run.exited).toBe(2);
    expect(run.output()).toContain('idp.issuer');
    expect(run.output()).toContain('gateway.sessionIdleSecnds');
    expect(run.output()).not.toContain('ready at');
  });

  it('porta check-config accepts the default configuration', async () => {
    const run = porta(['check-config'], {});
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain('Configuration is valid');
  });
});
