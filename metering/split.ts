/**
 * Largest-remainder split of an amount of cents by integer weights: each part gets the floor of its
 * exact share, and the cents left over go one each to the largest remainders, ties to the smaller
 * key. Exact (BigInt), so the parts always sum to the amount and the same input gives the same split.
 */
export interface SplitPart {
  key: string;
  cents: number;
}

export function splitByLargestRemainder(cents: number, weights: Array<{ key: string; weight: bigint }>): SplitPart[] {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new RangeError(`Only whole, non-negative cents can be split, got ${cents}.`);
  const parts = weights.filter((w) => w.weight > 0n).sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const total = parts.reduce((sum, w) => sum + w.weight, 0n);
  if (total === 0n) throw new RangeError('Nothing to split by: every weight is zero.');
  const amount = BigInt(cents);
  const shares = parts.map((w) => ({ key: w.key, cents: (amount * w.weight) / total, remainder: (amount * w.weight) % total }));
  let left = amount - shares.reduce((sum, s) => sum + s.cents, 0n);
  const byRemainder = [...shares].sort((a, b) => (a.remainder > b.remainder ? -1 : a.remainder < b.remainder ? 1 : a.key < b.key ? -1 : 1));
  for (const share of byRemainder) {
    if (left === 0n) break;
    share.cents += 1n;
    left -= 1n;
  }
  return shares.map((s) => ({ key: s.key, cents: Number(s.cents) }));
}
