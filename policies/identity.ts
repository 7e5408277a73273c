/** Building the Identity that `decide` reads from what the directory and the subscriptions say. */
import type { Entitlements } from './subscriptions.ts';
import type { Identity, Role } from './types.ts';

/** A visitor who is not signed in (a fresh object each time, so nobody can change a shared one). */
export function anonymousIdentity(): Identity {
  return { plans: [], extraStorageBlocks: 0, collectives: [], grants: {}, roles: [], amr: [] };
}

export function identityOf(
  account: { id: string; platformAdmin: boolean },
  memberships: Array<{ collectiveId: string; manager: boolean; grants: string[] }>,
  entitlements: Pick<Entitlements, 'plans' | 'extraStorageBlocks'>,
  amr: string[] = [],
): Identity {
  const roles: Role[] = [];
  if (account.platformAdmin) roles.push('platform-admin');
  if (memberships.some((m) => m.manager)) roles.push('manager');
  if (memberships.length > 0) roles.push('member');
  const grants: Record<string, string[]> = {};
  for (const m of memberships) grants[m.collectiveId] = [...m.grants];
  return {
    subject: account.id,
    plans: [...entitlements.plans],
    extraStorageBlocks: entitlements.extraStorageBlocks,
    collectives: memberships.map((m) => m.collectiveId),
    grants,
    roles,
    amr: [...amr],
  };
}
