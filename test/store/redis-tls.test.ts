/** rediss:// against a real redis-server listening only on TLS, with a self-signed certificate. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { StoreUnavailableError } from '../../kernel/errors.ts';
import { createRedisStores } from '../../store/redis/index.ts';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL('./tls-child.ts', import.meta.url));

describe('redis store over TLS', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis({ tls: true });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('refuses a server whose certificate it does not trust (fails closed)', async () => {
    expect(server.url.startsWith('rediss://')).toBe(true);
    const err = await createRedisStores({ url: server.url, keyPrefix: 'x:' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(((err as Error).cause as Error).message).toMatch(/certificate/i);
  });

  it('works end to end once the CA is trusted (NODE_EXTRA_CA_CERTS)', async () => {
    const { stdout } = await run(process.execPath, [CHILD, server.url], { env: { ...process.env, NODE_EXTRA_CA_CERTS: server.caFile } });
    expect(stdout.trim()).toBe('over tls');
  });
});
