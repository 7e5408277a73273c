/**
 * Starts a real OpenLDAP `slapd` on a free loopback port for a test suite: fresh mdb database in a
 * temp folder, config and seed from the templates in `test/fixtures/ldap/`, stopped and deleted by
 * `stop()`. `restart()` keeps the database (to test reconnection after a dropped connection).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { randomToken } from '../../kernel/ids.ts';
import { freePort } from './ports.ts';

const run = promisify(execFile);
const FIXTURES = fileURLToPath(new URL('../fixtures/ldap/', import.meta.url));
const SLAPD = ['/usr/sbin/slapd', '/usr/local/sbin/slapd', '/usr/local/libexec/slapd'];
const LDAPADD = ['/usr/bin/ldapadd', '/usr/local/bin/ldapadd'];
const NOT_FOUND = 'slapd not found; install it with: sudo bash scripts/install-test-deps.sh (Debian: apt-get install slapd ldap-utils)';

export interface Slapd {
  url: string;
  port: number;
  suffix: string;
  rootDn: string;
  rootPassword: string;
  /** Porta's service account (write access to everything, as in production). */
  serviceDn: string;
  servicePassword: string;
  /** Loads an LDIF file (or text) with ldapadd as the root DN. */
  ldapadd(ldif: string, options?: { isText?: boolean }): Promise<void>;
  /** Stops and starts again on the same port with the same database. */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM) without deleting anything. */
  halt(): Promise<void>;
  /** Stops the server and deletes its folder. */
  stop(): Promise<void>;
}

function binary(candidates: string[]): string {
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(NOT_FOUND);
  return found;
}

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    if (!(key in values)) throw new Error(`template placeholder {{${key}}} has no value`);
    return values[key];
  });
}

/** `modules`: extra slapd modules to load, e.g. `['argon2']` so userPassword may hold `{ARGON2}` hashes. */
export async function startSlapd(options: { suffix?: string; modules?: string[] } = {}): Promise<Slapd> {
  const slapd = binary(SLAPD);
  const ldapaddBin = binary(LDAPADD);
  const suffix = options.suffix ?? 'dc=porta,dc=test';
  const dir = mkdtempSync(join(tmpdir(), 'porta-slapd-'));
  mkdirSync(join(dir, 'db'));
  const port = await freePort();
  const url = `ldap://127.0.0.1:${port}`;
  const rootDn = `cn=admin,${suffix}`;
  const rootPassword = randomToken(12);
  const serviceDn = `cn=porta,ou=services,${suffix}`;
  const servicePassword = randomToken(12);
  const values = { DIR: dir, SUFFIX: suffix, ROOTPW: rootPassword, SERVICE_DN: serviceDn, SERVICE_PASSWORD: servicePassword };
  const modules = (options.modules ?? []).map((m) => `moduleload ${m}`).join('\n');
  const conf = fill(readFileSync(join(FIXTURES, 'slapd.conf.template'), 'utf8'), values).replace(/^moduleload back_mdb$/m, (line) => (modules ? `${line}\n${modules}` : line));
  writeFileSync(join(dir, 'slapd.conf'), conf);

  let child: ChildProcess | undefined;
  const launch = async () => {
    // -d 0: stay in the foreground (so the child is the server) without debug output.
    const proc = spawn(slapd, ['-f', join(dir, 'slapd.conf'), '-h', `${url}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`slapd exited early (code ${code}): ${stderr.trim().slice(-2000)}`))));
    exited.catch(() => undefined);
    await Promise.race([waitForPort(port, 15_000), exited]);
  };
  const halt = async () => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  const ldapadd = async (ldif: string, opts: { isText?: boolean } = {}) => {
    let file = ldif;
    if (opts.isText) {
      file = join(dir, `load-${randomToken(6)}.ldif`);
      writeFileSync(file, ldif);
    }
    await run(ldapaddBin, ['-x', '-c', '-H', url, '-D', rootDn, '-w', rootPassword, '-f', file], { maxBuffer: 64 * 1024 * 1024 });
  };

  try {
    await launch();
    await ldapadd(fill(readFileSync(join(FIXTURES, 'seed.ldif'), 'utf8'), values), { isText: true });
  } catch (error) {
    await halt();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  return {
    url,
    port,
    suffix,
    rootDn,
    rootPassword,
    serviceDn,
    servicePassword,
    ldapadd,
    halt,
    async restart() {
      await halt();
      await launch();
    },
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`slapd on port ${port} did not accept connections within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
