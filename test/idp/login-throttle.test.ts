/** Login throttling over the real embedded store's rate limiter, and failing closed when the store fails. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { createStores, createRateLimiter } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { createLoginThrottle, LoginThrottledError } from '../../idp/regulation/login-throttle.ts';

describe('login throttle', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  });
  afterAll(async () => {
    await stores.close();
  });

  it('pauses after consecutive failures for blockSeconds, per username and address, case-insensitively', async () => {
    const throttle = await createLoginThrottle((o) => createRateLimiter(stores, o), { consecutiveFailures: 2, blockSeconds: 600, failuresPerIpPerDay: 50 });
    await throttle.check('Núria', '192.0.2.1');
    await throttle.failure('Núria', '192.0.2.1');
    await throttle.failure('núria ', '192.0.2.1');
    const refused = await throttle.check('NÚRIA', '192.0.2.1').then(() => undefined, (e: unknown) => e);
    expect(refused).toBeInstanceOf(LoginThrottledError);
    expect((refused as LoginThrottledError).status).toBe(429);
    expect((refused as LoginThrottledError).retryAfterSeconds).toBeGreaterThan(590);
    expect((refused as LoginThrottledError).retryAfterSeconds).toBeLessThanOrEqual(600);
    await expect(throttle.check('núria', '192.0.2.2')).resolves.toBeUndefined();
    await expect(throttle.check('pau', '192.0.2.1')).resolves.toBeUndefined();
  });

  it('fails closed with a 503 when the store behind the limiter fails', async () => {
    const broken = new RateLimiterMemory({ points: 1, duration: 1 }) as RateLimiterAbstract;
    broken.get = () => Promise.reject(new Error('connection refused'));
    broken.consume = () => Promise.reject(new Error('connection refused'));
    const throttle = await createLoginThrottle(async () => broken, { consecutiveFailures: 2, blockSeconds: 600, failuresPerIpPerDay: 50 });
    await expect(throttle.check('alice', '192.0.2.9')).rejects.toMatchObject({ status: 503 });
    await expect(throttle.failure('alice', '192.0.2.9')).rejects.toMatchObject({ status: 503 });
  });
});
