/**
 * Real Porta processes (`node cli/porta.ts start --role …`), as an operator runs them: for the
 * multi-process and fault tests. Each process gets its configuration file and environment; its
 * output is kept for assertions and for the failure message.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { NODE_FLAGS } from '../../cli/node-flags.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

export interface PortaProcess {
  child: ChildProcess;
  url: string;
  output(): string;
  /** SIGTERM and wait; resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  kill(): Promise<void>;
}

export function writeConfig(dir: string, name: string, config: Record<string, unknown>): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, stringify(config));
  return file;
}

export async function spawnPorta(options: { configFile: string; role: 'all' | 'idp' | 'gateway'; env?: Record<string, string>; readyWithinMs?: number }): Promise<PortaProcess> {
  const child = spawn(process.execPath, [...NODE_FLAGS, 'cli/porta.ts', 'start', '--role', options.role], {
    cwd: ROOT,
    env: { ...process.env, PORTA_CONFIG: options.configFile, PORTA_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (options.readyWithinMs ?? 30000);
  let url: string | undefined;
  while (!url) {
    url = /ready at (http:\/\/\S+)/.exec(text)?.[1];
    if (url) break;
    if (child.exitCode !== null) throw new Error(`porta ${options.role} exited with ${child.exitCode}:\n${text}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`porta ${options.role} did not start in time:\n${text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    url,
    output: () => text,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
    async kill() {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}
