/**
 * What the IdP says about an account: standard OIDC claims plus Porta's `groups`, `plan` and `quota`.
 * `quota` is always a string Nextcloud's user_oidc accepts ("5 GB", binary units, or "none"):
 * Nextcloud silently ignores a number.
 */
import type { Account, Membership } from '../../directory/types.ts';
import { profileClaims } from '../../directory/profile-claims.ts';

/** A plan and storage quota for an account; supplied by policies/metering, see `createIdp`. */
export interface Entitlements {
  plan: string;
  /** Nextcloud quota string, e.g. "5 GB" or "none". */
  quota: string;
  /** Roles for services that read one (Greenlight's `org_details.roles`). */
  roles?: string[];
}

export type EntitlementsLookup = (accountId: string) => Promise<Entitlements>;

/** Used when the IdP is given no entitlements function: the free plan, no quota claim limit. */
export const DEFAULT_ENTITLEMENTS: Entitlements = { plan: 'free', quota: 'none' };

/** Scopes and the claims each releases (oidc-provider's `claims` configuration). */
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  // Greenlight asks for the fixed scope `openid email profile` and reads its role from `org_details`.
  profile: ['name', 'preferred_username', 'org_details'],
  groups: ['groups'],
  plan: ['plan', 'quota'],
} as const;

const QUOTA_PATTERN = /^(none|default|\d+(\.\d+)?\s?(b|k|kb|m|mb|g|gb|t|tb|p|pb)?)$/i;

/** True for a string Nextcloud's `OC_Helper::computerFileSize` parses. */
export function isNextcloudQuota(value: string): boolean {
  return QUOTA_PATTERN.test(value.trim());
}

export interface ClaimSource {
  account: Account;
  memberships: Membership[];
  entitlements: Entitlements;
  groupsPrefix: string;
}

/** Every claim the IdP can release for the account; oidc-provider filters them by scope and `claims`. */
export function accountClaims({ account, memberships, entitlements, groupsPrefix }: ClaimSource): Record<string, unknown> {
  const quota = String(entitlements.quota);
  const claims: Record<string, unknown> = {
    ...profileClaims(account, memberships, groupsPrefix),
    plan: entitlements.plan,
    // Fail closed on a malformed quota: "none" would be unlimited, so send the smallest valid value instead.
    quota: isNextcloudQuota(quota) ? quota : '0 B',
  };
  if (entitlements.roles && entitlements.roles.length > 0) claims.org_details = { roles: entitlements.roles[0] };
  return claims;
}

/** The scope whose description covers a claim (for the consent page), e.g. `quota` → `plan`. */
export function scopeOfClaim(claim: string): string | undefined {
  for (const [scope, claims] of Object.entries(CLAIMS_BY_SCOPE)) if ((claims as readonly string[]).includes(claim)) return scope;
  return undefined;
}
