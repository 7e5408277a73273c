/** A fault injector over a real Ledger: the next appends fail, before or after the real write. */
import type { Ledger, LedgerBatch } from '../../store/types.ts';

export class FaultyLedger implements Ledger {
  readonly inner: Ledger;
  /** Appends still to fail. */
  failures = 0;
  /** `before`: nothing is written; `after`: written, then the caller is told it failed (a lost reply). */
  mode: 'before' | 'after' = 'before';
  calls = 0;
  constructor(inner: Ledger) {
    this.inner = inner;
  }
  failNext(n: number, mode: 'before' | 'after' = 'before'): void {
    this.failures = n;
    this.mode = mode;
  }
  async append(stream: string, entries: LedgerBatch): Promise<number> {
    this.calls += 1;
    if (this.failures > 0) {
      this.failures -= 1;
      if (this.mode === 'after') await this.inner.append(stream, entries);
      throw new Error('injected ledger failure');
    }
    return this.inner.append(stream, entries);
  }
  read(stream: string, options?: { after?: string; limit?: number }) {
    return this.inner.read(stream, options);
  }
  range(stream: string, from: number, to: number) {
    return this.inner.range(stream, from, to);
  }
  deleteBefore(stream: string, before: number) {
    return this.inner.deleteBefore(stream, before);
  }
  count(stream: string) {
    return this.inner.count(stream);
  }
}

/** Every id in the stream with how often it occurs (the ledger should make that 1). */
export async function idsIn(ledger: Ledger, stream: string): Promise<Map<string, number>> {
  const ids = new Map<string, number>();
  for await (const entry of ledger.range(stream, 0, Number.MAX_SAFE_INTEGER)) ids.set(entry.id, (ids.get(entry.id) ?? 0) + 1);
  return ids;
}
