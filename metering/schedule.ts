/** The fee schedule from what policies keep: plan prices and the extra block from the policy, and the subscriptions. */
import type { PolicyDocument } from '../policies/types.ts';
import type { Subscription } from '../policies/subscriptions.ts';
import type { FeeSchedule } from './fees.ts';

export interface ScheduleSources {
  /** The policy in force (e.g. `() => policyStore.current().compiled.document`). */
  policy: () => Pick<PolicyDocument, 'plans' | 'extraStorageBlock'>;
  subscriptions: { list(): Promise<Subscription[]> };
}

export function feeScheduleFrom(sources: ScheduleSources): () => Promise<FeeSchedule> {
  return async () => {
    const policy = sources.policy();
    return { plans: policy.plans, extraStorageBlock: policy.extraStorageBlock, subscriptions: await sources.subscriptions.list() };
  };
}
