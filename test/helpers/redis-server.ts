/** Starts a real redis-server on a free loopback port for a test suite. */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingServers, REQUIRED_SERVERS } from './global-setup.ts';
import { freePort } from './ports.ts';

export interface RedisServer {
  url: string;
  port: number;
  /** Shuts the server down and removes its folder. */
  stop(): Promise<void>;
  /** Kills the server abruptly (SIGKILL), to test what happens when Redis goes away. The folder stays for restart(). */
  kill(): Promise<void>;
  /** Starts the server again on the same port (after kill or on a live server). */
  restart(): Promise<void>;
  /** With `tls`: the self-signed certificate to trust (e.g. NODE_EXTRA_CA_CERTS). */
  caFile?: string;
}

/** A throwaway EC certificate for 127.0.0.1, made with the openssl command. */
function selfSignedCertificate(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ], { stdio: 'ignore' });
  return { cert, key };
}

const NOT_FOUND = 'redis-server not found on PATH; install it with: sudo bash scripts/install-test-deps.sh (Debian: apt-get install redis-server)';

/**
 * `cluster: true` starts a one-node Redis Cluster owning all 16384 slots: Redis then refuses
 * commands and scripts whose keys hash to different slots (CROSSSLOT), just like a real cluster.
 * Its URL is `redis+cluster://…`.
 */
export async function startRedis(options: { cluster?: boolean; password?: string; tls?: boolean } = {}): Promise<RedisServer> {
  if (options.cluster && (options.password || options.tls)) throw new Error('startRedis: a cluster with a password or TLS is not supported by this helper');
  const redisEntry = REQUIRED_SERVERS.filter((r) => r.binary === 'redis-server');
  if (missingServers(process.env.PATH ?? '', redisEntry).length > 0) throw new Error(NOT_FOUND);

  const dir = mkdtempSync(join(tmpdir(), 'porta-redis-'));
  const port = await freePort();
  const tlsFiles = options.tls ? selfSignedCertificate(dir) : undefined;
  let child: ChildProcess | undefined;

  const launch = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'yes', '--loglevel', 'warning'];
    if (options.password) args.push('--requirepass', options.password);
    // TLS only: the plain port is closed. The certificate is self-signed for IP 127.0.0.1 (see `caFile`).
    if (tlsFiles) args.splice(0, 2, '--port', '0', '--tls-port', String(port), '--tls-cert-file', tlsFiles.cert, '--tls-key-file', tlsFiles.key, '--tls-ca-cert-file', tlsFiles.cert, '--tls-auth-clients', 'no');
    // A lone node never learns its own address from peers: announce it, or CLUSTER SLOTS reports an empty IP.
    if (options.cluster) args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-announce-ip', '127.0.0.1');
    const proc = spawn('redis-server', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`redis-server exited early (code ${code}): ${stderr.trim()}`))));
    exited.catch(() => undefined);
    await Promise.race([waitForPong(port, 10_000, Boolean(tlsFiles)), exited]);
    if (options.cluster) await Promise.race([claimAllSlots(port), exited]);
  };

  const killChild = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await gone;
  };

  await launch();
  return {
    url: options.cluster
      ? `redis+cluster://127.0.0.1:${port}`
      : `${tlsFiles ? 'rediss' : 'redis'}://${options.password ? `:${encodeURIComponent(options.password)}@` : ''}127.0.0.1:${port}`,
    caFile: tlsFiles?.cert,
    port,
    async stop() {
      await killChild('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    async kill() {
      await killChild('SIGKILL');
    },
    async restart() {
      await killChild('SIGTERM');
      await launch();
    },
  };
}

/** Resolves once the server answers PING with PONG on `port`. */
async function waitForPong(port: number, timeoutMs: number, tls = false): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await pingOnce(port, tls)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function pingOnce(port: number, tls = false): Promise<boolean> {
  return new Promise((resolve) => {
    // Readiness probe only: the certificate is checked by the code under test, not here.
    const socket = tls ? tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }) : connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      // -NOAUTH: a server with requirepass is up, it just wants a password first.
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH'));
    });
  });
}

/** Sends one inline command and returns the raw reply (enough for the few setup commands here). */
function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    socket.setTimeout(2000, () => (socket.destroy(), reject(new Error(`no reply to ${line}`))));
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${line}\r\n`));
    socket.on('data', (d) => {
      reply += d.toString();
      if (respEnd(reply, 0) !== undefined) {
        socket.destroy();
        resolve(reply);
      }
    });
  });
}

/** Where the RESP2 value starting at `at` ends, or undefined while it is incomplete. */
function respEnd(text: string, at: number): number | undefined {
  const eol = text.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const head = text[at];
  const n = Number(text.slice(at + 1, eol));
  if (head === '$') return n < 0 ? eol + 2 : text.length >= eol + 2 + n + 2 ? eol + 2 + n + 2 : undefined;
  if (head === '*') {
    let next: number | undefined = eol + 2;
    for (let i = 0; i < n && next !== undefined; i++) next = respEnd(text, next);
    return next;
  }
  return eol + 2; // +simple, -error, :integer
}

/** Gives the single node every slot (kept in nodes.conf, so a restart keeps them) and waits for cluster_state:ok. */
async function claimAllSlots(port: number): Promise<void> {
  const info = await command(port, 'CLUSTER INFO');
  if (!info.includes('cluster_slots_assigned:16384')) {
    const reply = await command(port, 'CLUSTER ADDSLOTSRANGE 0 16383');
    if (!reply.startsWith('+OK')) throw new Error(`CLUSTER ADDSLOTSRANGE failed: ${reply.trim()}`);
  }
  const deadline = Date.now() + 10_000;
  while (!(await command(port, 'CLUSTER INFO')).includes('cluster_state:ok')) {
    if (Date.now() > deadline) throw new Error('the one-node cluster did not reach cluster_state:ok');
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisSentinel {
  /** `redis+sentinel://` URL for the monitored master (with its password when it has one). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Starts a real Sentinel (redis-server --sentinel) monitoring `master` as `masterName`. */
export async function startRedisSentinel(master: RedisServer, options: { masterName?: string; password?: string } = {}): Promise<RedisSentinel> {
  const masterName = options.masterName ?? 'portamaster';
  const dir = mkdtempSync(join(tmpdir(), 'porta-sentinel-'));
  const port = await freePort();
  const conf = join(dir, 'sentinel.conf');
  const lines = [
    `port ${port}`,
    'bind 127.0.0.1',
    `dir ${dir}`,
    `sentinel monitor ${masterName} 127.0.0.1 ${master.port} 1`,
    `sentinel down-after-milliseconds ${masterName} 5000`,
  ];
  if (options.password) lines.push(`sentinel auth-pass ${masterName} ${options.password}`);
  writeFileSync(conf, `${lines.join('\n')}\n`);
  const proc = spawn('redis-server', [conf, '--sentinel'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`redis sentinel exited early (code ${code}): ${stderr.trim()}`))));
  exited.catch(() => undefined);
  await Promise.race([waitForPong(port, 10_000), exited]);
  // Wait until the sentinel knows the master's address, or clients would be told "no master".
  const deadline = Date.now() + 10_000;
  while (!(await command(port, `SENTINEL GET-MASTER-ADDR-BY-NAME ${masterName}`)).includes(String(master.port))) {
    if (Date.now() > deadline) throw new Error('the sentinel did not learn the master address');
    await new Promise((r) => setTimeout(r, 50));
  }
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  return {
    url: `redis+sentinel://${auth}127.0.0.1:${port}/${masterName}`,
    port,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
        proc.kill('SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
