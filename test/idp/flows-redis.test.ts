/** The OIDC flows over the Redis store, against a real redis-server; and the IdP through a Redis outage. */
import { describe, it } from '@jest/globals';
import { runFlowSuite } from './flows.suite.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { driveOutage } from './helpers/outage.ts';

runFlowSuite('redis', async () => {
  const redis = await startRedis();
  return { choice: { kind: 'redis', url: redis.url }, cleanup: () => redis.stop() };
});

describe('IdP while Redis is down', () => {
  it('answers 503 temporarily_unavailable instead of a server error, and recovers when Redis is back', async () => {
    await driveOutage();
  });
});
