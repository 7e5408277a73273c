/**
 * Child process for embedded-processes.test.ts: opens the same SQLite file as its siblings, says
 * "ready", waits for the parent's `go` key (so all children race at once), makes reservations
 * against one quota, then prints how many were granted.
 * Usage: node reserve-child.ts <file> <key> <attempts> <amount> <limit>
 */
import { createEmbeddedStores } from '../../store/embedded/index.ts';

const [path, key, attempts, amount, limit] = process.argv.slice(2);
const stores = await createEmbeddedStores({ path });
process.stdout.write('ready\n');
while ((await stores.kv.get('go')) === undefined) await new Promise((r) => setTimeout(r, 2));
let granted = 0;
for (let i = 0; i < Number(attempts); i++) {
  if ((await stores.counters.reserve(key, Number(amount), Number(limit))).granted) granted++;
  await new Promise((r) => setImmediate(r)); // give the siblings a chance between transactions
}
await stores.close();
process.stdout.write(`granted ${granted}\n`);
