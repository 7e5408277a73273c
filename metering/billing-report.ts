/**
 * The billing report of one period: for each subscriber the fee, the usage per service, and the fee
 * split among the services in proportion to weighted use (OneCommons); totals per service, to be paid
 * to whoever operates it. A pure function of (monthly aggregate, fee schedule, weights): the same
 * ledger always gives the same report.
 *
 * Whose usage: an account subscriber's usage is the records with its subject and no collective; a
 * collective subscriber's usage is every record billed to that collective (its dedicated services).
 * A subscriber with a fee but no weighted use in the period: the whole fee goes to the line
 * `UNALLOCATED`, for the platform to allocate by agreement. Nothing is guessed.
 */
import type { AggregateRow, MonthlyAggregate } from './aggregate.ts';
import { holderOf, subscriptionFee, type FeeSchedule, type Holder, type SubscriptionFee } from './fees.ts';
import { parsePeriod } from './period.ts';
import { splitByLargestRemainder } from './split.ts';
import { addUnits, emptyTotals, type UnitTotals } from './types.ts';
import { weightedUse, weightedUseNumber, type UsageWeights } from './weights.ts';

export const UNALLOCATED = '(unallocated)';

export interface ServiceUsage {
  service: string;
  records: number;
  units: UnitTotals;
  weightedUse: number;
}

export interface SubscriberLine {
  holder: Holder;
  subscriptions: SubscriptionFee[];
  feeCents: number;
  usage: ServiceUsage[];
  /** Sums to `feeCents` exactly. */
  split: Array<{ service: string; cents: number }>;
  basis: 'use' | 'unallocated' | 'no-fee';
}

export interface ServiceTotal {
  service: string;
  /** What the subscribers' fees give this service. */
  cents: number;
  /** Subscribers whose split gives it something. */
  subscribers: number;
  /** All use of the service in the period, by subscribers or not. */
  records: number;
  units: UnitTotals;
}

export interface BillingReport {
  period: string;
  from: string;
  /** Exclusive. */
  to: string;
  currency: 'EUR';
  weights: UsageWeights;
  subscribers: SubscriberLine[];
  services: ServiceTotal[];
  totalFeeCents: number;
  unallocatedCents: number;
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const holderKey = (h: Holder) => `${h.kind}\u0000${h.id}`;

function usageOf(rows: AggregateRow[], weights: UsageWeights): Array<ServiceUsage & { micro: bigint }> {
  const byService = new Map<string, { records: number; units: UnitTotals }>();
  for (const row of rows) {
    let entry = byService.get(row.service);
    if (entry === undefined) byService.set(row.service, (entry = { records: 0, units: emptyTotals() }));
    entry.records += row.records;
    addUnits(entry.units, row.units);
  }
  return [...byService.entries()]
    .sort(([a], [b]) => byString(a, b))
    .map(([service, { records, units }]) => {
      const micro = weightedUse(units, weights);
      return { service, records, units, weightedUse: weightedUseNumber(micro), micro };
    });
}

export function buildBillingReport(input: { period: string; usage: MonthlyAggregate; schedule: FeeSchedule; weights: UsageWeights }): BillingReport {
  const billing = parsePeriod(input.period);
  const { weights } = input;

  // Fees per holder, from the subscriptions active in the period.
  const holders = new Map<string, { holder: Holder; fees: SubscriptionFee[] }>();
  for (const subscription of input.schedule.subscriptions) {
    const fee = subscriptionFee(subscription, input.schedule, billing);
    if (fee === undefined) continue;
    const holder = holderOf(subscription);
    const key = holderKey(holder);
    let entry = holders.get(key);
    if (entry === undefined) holders.set(key, (entry = { holder, fees: [] }));
    entry.fees.push(fee);
  }

  // Usage rows per account (own use) and per collective.
  const rowsOf = new Map<string, AggregateRow[]>();
  const push = (key: string, row: AggregateRow) => {
    const list = rowsOf.get(key);
    if (list === undefined) rowsOf.set(key, [row]);
    else list.push(row);
  };
  for (const row of input.usage.rows) {
    if (row.collective === undefined) push(holderKey({ kind: 'account', id: row.subject }), row);
    else push(holderKey({ kind: 'collective', id: row.collective }), row);
  }

  const totals = new Map<string, ServiceTotal>();
  const total = (service: string): ServiceTotal => {
    let t = totals.get(service);
    if (t === undefined) totals.set(service, (t = { service, cents: 0, subscribers: 0, records: 0, units: emptyTotals() }));
    return t;
  };
  for (const row of input.usage.rows) {
    const t = total(row.service);
    t.records += row.records;
    addUnits(t.units, row.units);
  }

  const subscribers: SubscriberLine[] = [];
  let totalFeeCents = 0;
  let unallocatedCents = 0;
  const ordered = [...holders.entries()].sort(([a], [b]) => byString(a, b));
  for (const [key, { holder, fees }] of ordered) {
    fees.sort((a, b) => byString(a.subscription, b.subscription));
    const feeCents = fees.reduce((sum, f) => sum + f.feeCents, 0);
    const usage = usageOf(rowsOf.get(key) ?? [], weights);
    const used = usage.filter((u) => u.micro > 0n);
    let split: SubscriberLine['split'];
    let basis: SubscriberLine['basis'];
    if (feeCents === 0) {
      split = [];
      basis = 'no-fee';
    } else if (used.length === 0) {
      split = [{ service: UNALLOCATED, cents: feeCents }];
      basis = 'unallocated';
      unallocatedCents += feeCents;
    } else {
      split = splitByLargestRemainder(feeCents, used.map((u) => ({ key: u.service, weight: u.micro }))).map((p) => ({ service: p.key, cents: p.cents }));
      basis = 'use';
    }
    for (const part of split) {
      if (part.service === UNALLOCATED || part.cents === 0) continue;
      const t = total(part.service);
      t.cents += part.cents;
      t.subscribers += 1;
    }
    totalFeeCents += feeCents;
    subscribers.push({ holder, subscriptions: fees, feeCents, usage: usage.map(({ micro: _micro, ...u }) => u), split, basis });
  }

  return {
    period: billing.id,
    from: new Date(billing.from).toISOString().slice(0, 10),
    to: new Date(billing.to).toISOString().slice(0, 10),
    currency: 'EUR',
    weights: { ...weights },
    subscribers,
    services: [...totals.values()].sort((a, b) => byString(a.service, b.service)),
    totalFeeCents,
    unallocatedCents,
  };
}
