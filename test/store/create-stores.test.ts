/** createStores and createRateLimiter over the embedded store (the Redis side is in redis.test.ts). */
import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RateLimiterRes } from 'rate-limiter-flexible';
import { parseConfig } from '../../config/load.ts';
import { createStores, createRateLimiter, embeddedPath } from '../../store/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'porta-create-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('createStores (embedded)', () => {
  it('opens the file from the default config under dataDir', async () => {
    const config = parseConfig({}, {});
    const stores = await createStores({ ...config.store, dataDir: join(dir, 'state') });
    expect(stores.kind).toBe('embedded');
    expect(existsSync(join(dir, 'state', 'porta.db'))).toBe(true);
    await stores.close();
  });

  it('resolves an explicit store.path against the working directory, not dataDir', () => {
    expect(embeddedPath({ path: join(dir, 'x.db'), dataDir: '/elsewhere' })).toBe(join(dir, 'x.db'));
    expect(embeddedPath({ path: 'db/porta.db', dataDir: '/elsewhere' })).toBe(join(process.cwd(), 'db', 'porta.db'));
    expect(embeddedPath({ path: './data/porta.db', dataDir: '/var/lib/porta' })).toBe('/var/lib/porta/porta.db');
    expect(embeddedPath({ path: './data/porta.db' })).toBe(join(process.cwd(), 'data', 'porta.db'));
    expect(embeddedPath({ path: ':memory:', dataDir: '/x' })).toBe(':memory:');
  });

  it('rate-limits in the SQLite file, shared by limiters with the same prefix', async () => {
    const stores = await createStores({ kind: 'embedded', path: join(dir, 'rl.db'), keyPrefix: 'porta:' });
    const limiter = await createRateLimiter(stores, { keyPrefix: 'login-ip', points: 3, duration: 60 });
    const again = await createRateLimiter(stores, { keyPrefix: 'login-ip', points: 3, duration: 60 });
    const other = await createRateLimiter(stores, { keyPrefix: 'login-user', points: 3, duration: 60 });
    await limiter.consume('10.0.0.1');
    await limiter.consume('10.0.0.1');
    const third = await again.consume('10.0.0.1');
    expect(third.remainingPoints).toBe(0);
    const refused = await limiter.consume('10.0.0.1').catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RateLimiterRes);
    expect((refused as RateLimiterRes).msBeforeNext).toBeGreaterThan(0);
    expect((await other.consume('10.0.0.1')).remainingPoints).toBe(2);
    expect((await limiter.consume('10.0.0.2')).remainingPoints).toBe(2);
    await expect(createRateLimiter(stores, { keyPrefix: 'bad prefix!', points: 1, duration: 1 })).rejects.toThrow(/keyPrefix/);
    await stores.close();
  });
});
