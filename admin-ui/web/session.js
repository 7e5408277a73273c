// Who is signed in and what they may do. The admin API's `GET /me` says it (the same `Caller` the API
// decides with); without that endpoint the UI falls back to the ID token's claims and probes.
import { api, ApiError, enc } from './api.js';
import { claims } from './auth.js';

/**
 * @typedef {{ collectiveId: string, collectiveName?: string, manager: boolean, grants?: string[] }} MyMembership
 * @typedef {{ accountId: string, username: string, name: string, email: string, plan?: string,
 *   platformAdmin: boolean, managerOf: string[], memberOf: string[], memberships?: MyMembership[] }} Me
 */

/** @param {any} raw @returns {Me} */
function normalise(raw) {
  const account = raw.account ?? raw;
  const id = claims();
  /** @param {unknown} list */
  const ids = (list) => (Array.isArray(list) ? list.map((x) => (typeof x === 'string' ? x : (x?.collectiveId ?? x?.id))).filter(Boolean) : []);
  const memberships = Array.isArray(raw.memberships) ? raw.memberships : [];
  return {
    accountId: String(raw.accountId ?? account.id ?? id?.sub ?? ''),
    username: String(raw.username ?? account.username ?? id?.preferred_username ?? ''),
    name: String(account.name ?? raw.name ?? id?.name ?? ''),
    email: String(account.email ?? raw.email ?? id?.email ?? ''),
    plan: raw.plan ?? id?.plan,
    platformAdmin: Boolean(raw.platformAdmin ?? account.platformAdmin),
    managerOf: raw.managerOf ? ids(raw.managerOf) : ids(memberships.filter((/** @type {any} */ m) => m.manager)),
    memberOf: raw.memberOf ? ids(raw.memberOf) : ids(memberships),
    memberships: Array.isArray(raw.memberships)
      ? raw.memberships.map((/** @type {any} */ m) => ({ collectiveId: String(m.collectiveId ?? m.id), collectiveName: m.collectiveName ?? m.name, manager: Boolean(m.manager), grants: Array.isArray(m.grants) ? m.grants : undefined }))
      : undefined,
  };
}

/** @returns {Promise<Me>} */
export async function loadMe() {
  try {
    return normalise(await api.get('/me'));
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 404) throw error;
  }
  // No `/me`: reading the policy is for platform admins only; listing a collective's members is for
  // its managers (and admins).
  const id = claims();
  const groups = id?.groups ?? [];
  const platformAdmin = await api.get('/policy').then(() => true, () => false);
  const managerOf = [];
  for (const group of groups) {
    if (platformAdmin || (await api.get(`/collectives/${enc(group)}/members`).then(() => true, () => false))) managerOf.push(group);
  }
  return normalise({ accountId: id?.sub, platformAdmin, managerOf: platformAdmin ? [] : managerOf, memberOf: groups });
}
