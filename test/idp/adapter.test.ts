/** The oidc-provider adapter contract against both store implementations. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../kernel/clock.ts';
import { createStores } from '../../store/index.ts';
import { startRedis } from '../helpers/redis-server.ts';
import { runOidcAdapterContract } from '../contracts/oidc-adapter.contract.ts';

runOidcAdapterContract('embedded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'porta-oidc-adapter-'));
  const clock = new ManualClock(Date.now());
  const stores = await createStores({ kind: 'embedded', path: join(dir, 'porta.db'), keyPrefix: 'porta:' }, { clock });
  return {
    stores,
    clock,
    advance: (ms) => clock.advance(ms),
    cleanup: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

runOidcAdapterContract('redis', async () => {
  const redis = await startRedis();
  const stores = await createStores({ kind: 'redis', url: redis.url, keyPrefix: 'adapter-test:', path: 'unused' });
  return {
    stores,
    clock: systemClock,
    advance: (ms) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    cleanup: async () => {
      await stores.close();
      await redis.stop();
    },
  };
});
