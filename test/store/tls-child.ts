/**
 * Child process for redis-tls.test.ts: connects with a rediss:// URL (trusting the test CA through
 * NODE_EXTRA_CA_CERTS, as an operator with a private CA would), writes and reads a key, prints it.
 * Usage: node tls-child.ts <url>
 */
import { createRedisStores } from '../../store/redis/index.ts';

const stores = await createRedisStores({ url: process.argv[2], keyPrefix: 'tls-test:' });
await stores.kv.set('greeting', 'over tls');
process.stdout.write(`${await stores.kv.get('greeting')}\n`);
await stores.close();
