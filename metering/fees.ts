/**
 * Fees of a billing period from plan prices and subscriptions, prorated by day. Money is integer
 * cents throughout; a prorated amount is rounded half up once per subscription.
 *
 * Subscriptions are `policies/subscriptions.ts`'s; `PolicyDocument` from `policies/types.ts` fits
 * `plans` and `extraStorageBlock` as they are (structural typing).
 */
import { conflict } from '../kernel/errors.ts';
import type { Subscription } from '../policies/subscriptions.ts';
import type { BillingPeriod } from './period.ts';
import { DAY_MS, daysInYear } from './period.ts';

export type PricePeriod = 'month' | 'year';
export type HolderKind = 'account' | 'collective';

/** How reports name a subscriber. */
export interface Holder {
  kind: HolderKind;
  id: string;
}

export interface PlanPrice {
  price: { cents: number; period: PricePeriod } | null;
}

/** A subscription as `policies/subscriptions.ts` keeps it, plus an optional agreed price. */
export type BillableSubscription = Subscription & {
  /** An agreed price replacing the plan's (a member collective pays "from 500 €/year"). */
  priceCents?: number;
};

export interface FeeSchedule {
  plans: Record<string, PlanPrice>;
  extraStorageBlock: { priceCents: number; period: PricePeriod } | null;
  subscriptions: BillableSubscription[];
}

export function holderOf(subscription: Subscription): Holder {
  return 'account' in subscription.holder ? { kind: 'account', id: subscription.holder.account } : { kind: 'collective', id: subscription.holder.collective };
}

export interface SubscriptionFee {
  subscription: string;
  plan: string;
  /** Days of the period the subscription was active. */
  days: number;
  planCents: number;
  extraBlocks: number;
  extraCents: number;
  feeCents: number;
}

/** `cents × num / den` rounded half up, in exact integer arithmetic. */
export function prorate(cents: number, num: number, den: number): number {
  if (!Number.isSafeInteger(cents) || cents < 0) throw new RangeError(`A price must be whole, non-negative cents, got ${cents}.`);
  const n = BigInt(cents) * BigInt(num);
  const d = BigInt(den);
  return Number((2n * n + d) / (2n * d));
}

/**
 * The share of one price for `days` days of the period: a monthly price by the days of the month, a
 * yearly price by the days of the year the period falls in (366 in a leap year).
 */
export function priceForDays(cents: number, period: PricePeriod, days: number, billing: BillingPeriod): number {
  if (days <= 0) return 0;
  if (period === 'month') return prorate(cents, days, billing.days);
  return prorate(cents, days, daysInYear(new Date(billing.from).getUTCFullYear()));
}

const ceilDay = (ms: number) => Math.ceil(ms / DAY_MS) * DAY_MS;

/**
 * Days of `billing` the subscription covers. A day counts when the subscription is active at its
 * start (00:00 UTC), so a change of plan during a day never charges that day twice.
 */
export function activeDays(subscription: Subscription, billing: BillingPeriod): number {
  const from = Math.max(ceilDay(subscription.from), billing.from);
  const to = Math.min(subscription.to === undefined ? Number.POSITIVE_INFINITY : ceilDay(subscription.to), billing.to);
  return to > from ? Math.round((to - from) / DAY_MS) : 0;
}

/** The fee of one subscription for the period; undefined when it was not active in it. */
export function subscriptionFee(subscription: BillableSubscription, schedule: FeeSchedule, billing: BillingPeriod): SubscriptionFee | undefined {
  const days = activeDays(subscription, billing);
  if (days === 0) return undefined;
  const plan = schedule.plans[subscription.plan];
  if (plan === undefined) throw conflict(`Subscription ${subscription.id} names plan "${subscription.plan}", which does not exist; fix the subscription or the policy.`);
  const price = plan.price;
  const planCents = price === null ? 0 : priceForDays(subscription.priceCents ?? price.cents, price.period, days, billing);
  const extraBlocks = subscription.extraBlocks;
  const block = schedule.extraStorageBlock;
  const extraCents = extraBlocks > 0 && block !== null ? priceForDays(block.priceCents * extraBlocks, block.period, days, billing) : 0;
  return { subscription: subscription.id, plan: subscription.plan, days, planCents, extraBlocks, extraCents, feeCents: planCents + extraCents };
}
