/** Drives the IdP through a Redis outage: kill, expect 503s, restart, expect recovery. */
import { expect } from '@jest/globals';
import { startRedis } from '../../helpers/redis-server.ts';
import { startIdp, SERVICE } from './harness.ts';

export async function driveOutage(): Promise<void> {
  const redis = await startRedis();
  const h = await startIdp({ store: { kind: 'redis', url: redis.url } });
  const tokenRequest = () =>
    fetch(`${h.issuer}/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${SERVICE.clientId}:${SERVICE.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials' }), // opaque: stored, so it needs Redis
    });
  try {
    expect((await tokenRequest()).status).toBe(200);
    await redis.kill();
    const down = await tokenRequest();
    expect(down.status).toBe(503);
    expect(await down.json()).toMatchObject({ error: 'temporarily_unavailable' });
    await redis.restart();
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i += 1) {
      status = (await tokenRequest()).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  } finally {
    await h.close();
    await redis.stop();
  }
}
