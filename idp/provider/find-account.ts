/**
 * oidc-provider's `findAccount`: accounts come from the directory. A suspended or deleted account is
 * "no account", so its sessions, refresh tokens and userinfo calls stop working at once.
 */
import type { Account as OidcAccount, FindAccount } from 'oidc-provider';
import type { Directory } from '../../directory/types.ts';
import { orUnavailable } from './unavailable.ts';
import { accountClaims, DEFAULT_ENTITLEMENTS, type EntitlementsLookup } from './claims.ts';

export function createFindAccount(directory: Directory, options: { groupsPrefix: string; entitlements?: EntitlementsLookup }): FindAccount {
  return async (_ctx, sub): Promise<OidcAccount | undefined> => {
    const account = await orUnavailable(() => directory.getAccount(sub));
    if (!account || account.status !== 'active') return undefined;
    return {
      accountId: account.id,
      async claims() {
        const [memberships, entitlements] = await orUnavailable(() =>
          Promise.all([
            directory.membershipsOf(account.id),
            options.entitlements ? options.entitlements(account.id) : Promise.resolve(DEFAULT_ENTITLEMENTS),
          ]),
        );
        return { ...accountClaims({ account, memberships, entitlements, groupsPrefix: options.groupsPrefix }), sub: account.id };
      },
    };
  };
}
