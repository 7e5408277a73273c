/**
 * Child process for the kill test (run by recorder-kill.test.ts, not by jest): records usage into an
 * embedded store file as fast as it can. Its ledger writes the first half of the `hangOnAppend`-th
 * batch, prints `mid-flush`, and never answers, like a process whose store call was in flight.
 * It prints `acked <n>` once records are in the journal (`recorder.journaled()`). The parent SIGKILLs it.
 *   node test/metering/kill-child.ts <db file> <journal dir> <hangOnAppend>
 * With `term` instead of a number it records 1234 records, prints `acked 1234` and waits for SIGTERM,
 * on which it closes the recorder (flushing) and exits, as `porta start` does.
 * With a fourth argument `tally` it counts requests with `recorder.tally()` as the gateway does: the
 * 50 requests of burst n have the subject `burst-<n>` (so each burst is one ledger record) and
 * `bytesOut` 1..50 (1275 a burst).
 *   node test/metering/kill-child.ts <db file> <journal dir> <hangOnAppend> tally
 */
import { systemClock } from '../../kernel/clock.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createEmbeddedStores } from '../../store/index.ts';
import type { Ledger, LedgerBatch } from '../../store/types.ts';
import { entriesOf } from '../../store/ledger-entries.ts';
import { openJournal } from '../../metering/journal.ts';
import { createUsageRecorder } from '../../metering/recorder.ts';

const [dbPath, journalDir, hangOn, mode] = process.argv.slice(2);
const stores = await createEmbeddedStores({ path: dbPath });
let appends = 0;
const ledger: Ledger = {
  async append(stream: string, batch: LedgerBatch) {
    appends += 1;
    if (appends === Number(hangOn)) {
      const entries = entriesOf(batch);
      await stores.ledger.append(stream, entries.slice(0, Math.floor(entries.length / 2)));
      process.stdout.write('mid-flush\n');
      return new Promise<number>(() => {}); // never answers
    }
    return stores.ledger.append(stream, batch);
  },
  read: (s, o) => stores.ledger.read(s, o),
  range: (s, f, t) => stores.ledger.range(s, f, t),
  deleteBefore: (s, b) => stores.ledger.deleteBefore(s, b),
  count: (s) => stores.ledger.count(s),
};
const recorder = createUsageRecorder({
  ledger,
  journal: openJournal(journalDir, silentLogger),
  clock: systemClock,
  logger: silentLogger,
  flushIntervalMs: hangOn === 'term' ? 600_000 : 1000, // batches cut by count (100), so the hung append is the 8th of 100
  flushBatchSize: 100,
  bufferLimit: 10_000,
  appendTimeoutMs: 60_000,
});

let acked = 0;
if (hangOn === 'term') {
  process.on('SIGTERM', () => {
    void recorder.close().then(async (flushed) => {
      await stores.close();
      process.exit(flushed ? 0 : 1);
    });
  });
  for (let i = 0; i < 1234; i++) recorder.record({ id: `term-${i}`, subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1 } });
  await recorder.journaled();
  process.stdout.write('acked 1234\n');
  setInterval(() => {}, 1000); // stay alive until the signal
} else {
  burst();
}

function burst(): void {
  let made = acked;
  const burstNumber = acked / 50;
  for (let i = 0; i < 50; i++) {
    const kept =
      mode === 'tally'
        ? recorder.tally({ subject: `burst-${burstNumber}`, service: 'oficina', kind: 'request', units: { requests: 1, bytesOut: i + 1 }, method: 'GET', status: 200 })
        : recorder.record({ id: `kill-${String(made).padStart(8, '0')}`, subject: 'anna', service: 'oficina', kind: 'request', units: { requests: 1 } });
    if (!kept) {
      process.stdout.write('refused\n');
      return;
    }
    made += 1;
  }
  // Acknowledged once the journal holds them (it writes records together, within a few ms).
  void recorder.journaled().then(() => {
    acked = made;
    process.stdout.write(`acked ${acked}\n`);
    setImmediate(burst); // let the recorder's flushes run between bursts (journaled() may resolve at once)
  });
}
