/**
 * The claims that describe an account and its collectives, as the IdP releases them and as the
 * gateway sends them upstream for a device-password sign-in: one definition, so the two never drift.
 */
import type { Account, Membership } from './types.ts';

// A type alias, not an interface, so it fits the gateway's open `Claims` record.
export type ProfileClaims = {
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  preferred_username: string;
  /** `<groupsPrefix><collective id>` per membership. */
  groups: string[];
};

export function profileClaims(account: Account, memberships: readonly Membership[], groupsPrefix: string): ProfileClaims {
  return {
    sub: account.id,
    email: account.email,
    email_verified: account.emailVerified,
    name: account.name,
    preferred_username: account.username,
    groups: memberships.map((m) => `${groupsPrefix}${m.collectiveId}`),
  };
}
