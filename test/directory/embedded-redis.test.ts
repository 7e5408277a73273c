/** The embedded directory over the Redis store (several Porta processes sharing one Redis, no LDAP). */
import { createStores } from '../../store/index.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { runDirectoryContract, CONTRACT_SERVICES } from '../contracts/directory.contract.ts';
import { startRedis } from '../helpers/redis-server.ts';

runDirectoryContract('embedded (Redis store)', async () => {
  const redis = await startRedis();
  const stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'porta-test:', path: ':memory:' });
  return {
    directory: new EmbeddedDirectory({ documents: stores.documents, services: CONTRACT_SERVICES }),
    teardown: async () => {
      await stores.close();
      await redis.stop();
    },
  };
});
