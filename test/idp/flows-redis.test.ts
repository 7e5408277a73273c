/** The OIDC flows over the Redis store, against a real redis-server. */
import { runFlowSuite } from './flows.suite.ts';
import { startRedis } from '../helpers/redis-server.ts';

runFlowSuite('redis', async () => {
  const redis = await startRedis();
  return { choice: { kind: 'redis', url: redis.url }, cleanup: () => redis.stop() };
});
