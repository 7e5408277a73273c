/**
 * Subscriptions: which account or collective holds which plan, with how many extra storage
 * blocks, from when to when. Pure functions only; storage is in `policy-store.ts`.
 */
import { z } from 'zod';

export type Holder = { account: string } | { collective: string };

export interface Subscription {
  id: string;
  holder: Holder;
  plan: string;
  /** Extra storage blocks bought with this subscription. */
  extraBlocks: number;
  /** Milliseconds since the epoch; active from this instant. */
  from: number;
  /** Active until (excluded); absent = open-ended. */
  to?: number;
  /** For a collective's subscription: its members hold the plan too. */
  coversMembers: boolean;
}

const id = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes');

/** What the admin API accepts (the id is assigned by the store). */
export const subscriptionInputSchema = z
  .object({
    holder: z.union([z.object({ account: z.string().min(1) }).strict(), z.object({ collective: id }).strict()], {
      error: 'must be { account: <account id> } or { collective: <collective id> }',
    }),
    plan: id,
    extraBlocks: z.number().int('must be a whole number').min(0, 'must not be negative').default(0),
    from: z.number().int().min(0, 'must be a time in milliseconds since 1970'),
    to: z.number().int().min(0, 'must be a time in milliseconds since 1970').optional(),
    coversMembers: z.boolean().default(false),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.to !== undefined && s.to <= s.from) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after from' });
    if (s.coversMembers && !('collective' in s.holder)) ctx.addIssue({ code: 'custom', path: ['coversMembers'], message: 'only a collective subscription can cover members' });
  });

export type SubscriptionInput = z.input<typeof subscriptionInputSchema>;

export function isActive(subscription: Subscription, at: number): boolean {
  return subscription.from <= at && (subscription.to === undefined || at < subscription.to);
}

export interface Entitlements {
  /** Plan ids, without duplicates, in subscription order. */
  plans: string[];
  extraStorageBlocks: number;
  /** The subscriptions these come from. */
  subscriptions: string[];
}

/**
 * What an account is entitled to at `at`: its own active subscriptions, plus the active
 * subscriptions of its collectives that cover members. Extra blocks of a covering collective
 * subscription count for each member (a collective buys them for its people). The policy's default
 * plan is not included here: `decide` adds it for every account.
 */
export function entitlementsOf(accountId: string, memberships: Array<{ collectiveId: string }>, subscriptions: Subscription[], at: number): Entitlements {
  const collectives = new Set(memberships.map((m) => m.collectiveId));
  const plans: string[] = [];
  const ids: string[] = [];
  let extraStorageBlocks = 0;
  for (const s of subscriptions) {
    if (!isActive(s, at)) continue;
    const applies = 'account' in s.holder ? s.holder.account === accountId : s.coversMembers && collectives.has(s.holder.collective);
    if (!applies) continue;
    if (!plans.includes(s.plan)) plans.push(s.plan);
    extraStorageBlocks += s.extraBlocks;
    ids.push(s.id);
  }
  return { plans, extraStorageBlocks, subscriptions: ids };
}
