/** What a usage ledger holds: its record ids (a retry or replay must not repeat one) and the requests they count (equal requests share a record). */
import type { Ledger } from '../../store/types.ts';
import { USAGE_STREAM } from '../../metering/types.ts';

export async function usageInLedger(ledger: Ledger): Promise<{ ids: string[]; requests: number }> {
  const ids: string[] = [];
  let requests = 0;
  for await (const entry of ledger.range(USAGE_STREAM, 0, Number.MAX_SAFE_INTEGER)) {
    ids.push(entry.id);
    requests += (entry.data.units as { requests?: number } | undefined)?.requests ?? 0;
  }
  return { ids, requests };
}
