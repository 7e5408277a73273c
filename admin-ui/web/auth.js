// Sign-in with Porta's own OpenID Connect provider: authorization code + PKCE (S256) as the public
// client `porta-admin-ui`, asking for the admin API as resource (`urn:porta:admin`) so that the access
// token is a JWT the API verifies. Tokens are kept in sessionStorage (this tab only, gone when it
// closes), never in cookies or localStorage, and are sent only in the Authorization header.

export const CLIENT_ID = 'porta-admin-ui';
export const ADMIN_RESOURCE = 'urn:porta:admin';
const SCOPE = 'openid email profile groups plan';
const TOKENS = 'porta.tokens';
const PENDING = 'porta.pending';
const SIGNED_IN_AT = 'porta.signedInAt';
/** A new sign-in this soon after the last one would be a loop (the IdP session is fine, the API still refuses). */
const LOOP_MS = 30_000;
/** Refresh this long before the access token expires. */
const MARGIN_MS = 30_000;

/**
 * @typedef {{ access_token: string, refresh_token?: string, id_token?: string, expires_at: number, claims: IdClaims }} TokenSet
 * @typedef {{ sub: string, name?: string, email?: string, preferred_username?: string, groups?: string[], plan?: string, quota?: string, exp?: number }} IdClaims
 * @typedef {{ issuer: string, authorization_endpoint: string, token_endpoint: string, end_session_endpoint?: string }} Discovery
 */

const base = () => `${location.origin}/admin`;
export const redirectUri = () => `${base()}/callback`;

/** @type {Promise<Discovery> | undefined} */
let discovery;

/** @returns {Promise<Discovery>} */
export function discover() {
  discovery ??= fetch(`${location.origin}/.well-known/openid-configuration`, { credentials: 'omit' }).then(async (res) => {
    if (!res.ok) throw new Error(`discovery answered ${res.status}`);
    return /** @type {Promise<Discovery>} */ (res.json());
  });
  discovery.catch(() => (discovery = undefined));
  return discovery;
}

/** @param {Uint8Array | ArrayBuffer} bytes */
function base64url(bytes) {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = '';
  for (const b of data) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function random() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/** @param {string} verifier */
async function challengeOf(verifier) {
  return base64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
}

/** @param {string} jwt @returns {IdClaims} */
function decodePayload(jwt) {
  const part = jwt.split('.')[1] ?? '';
  const json = atob(part.replace(/-/g, '+').replace(/_/g, '/'));
  return JSON.parse(decodeURIComponent(Array.from(json, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`).join('')));
}

/** @returns {TokenSet | undefined} */
function stored() {
  try {
    const raw = sessionStorage.getItem(TOKENS);
    return raw ? JSON.parse(raw) : undefined;
  } catch {
    return undefined;
  }
}

/** @type {TokenSet | undefined} */
let tokens = stored();

/** @param {TokenSet | undefined} next */
function keep(next) {
  tokens = next;
  if (next) sessionStorage.setItem(TOKENS, JSON.stringify(next));
  else sessionStorage.removeItem(TOKENS);
}

export function signedIn() {
  return tokens !== undefined;
}

/** @returns {IdClaims | undefined} */
export function claims() {
  return tokens?.claims;
}

/**
 * Sends the browser to the IdP's login. `returnTo` is where to come back to after the callback.
 * @param {string} [returnTo]
 */
export async function signIn(returnTo = location.pathname + location.search) {
  const meta = await discover();
  const verifier = random();
  const state = random();
  const nonce = random();
  sessionStorage.setItem(PENDING, JSON.stringify({ verifier, state, nonce, returnTo: returnTo.startsWith('/admin') ? returnTo : '/admin/' }));
  const url = new URL(meta.authorization_endpoint);
  const idTokenClaims = { email: null, name: null, preferred_username: null, groups: null, plan: null, quota: null };
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    response_type: 'code',
    redirect_uri: redirectUri(),
    scope: SCOPE,
    state,
    nonce,
    code_challenge: await challengeOf(verifier),
    code_challenge_method: 'S256',
    resource: ADMIN_RESOURCE,
    claims: JSON.stringify({ id_token: idTokenClaims }),
    ui_locales: document.documentElement.lang || 'en',
  }).toString();
  location.assign(url.toString());
}

/**
 * @param {URLSearchParams} body
 * @returns {Promise<TokenSet>}
 */
async function tokenRequest(body) {
  const meta = await discover();
  const res = await fetch(meta.token_endpoint, {
    method: 'POST',
    credentials: 'omit',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body,
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || typeof json.access_token !== 'string') {
    throw new Error(json.error_description || json.error || `the token endpoint answered ${res.status}`);
  }
  const previous = tokens;
  const idToken = json.id_token ?? previous?.id_token;
  return {
    access_token: json.access_token,
    refresh_token: json.refresh_token ?? previous?.refresh_token,
    id_token: idToken,
    expires_at: Date.now() + (Number(json.expires_in) || 300) * 1000,
    claims: json.id_token ? decodePayload(json.id_token) : (previous?.claims ?? { sub: '' }),
  };
}

/**
 * Finishes the sign-in on `/admin/callback`: checks `state`, redeems the code with the PKCE verifier
 * and checks the ID token's issuer, audience and nonce. The ID token comes straight from the token
 * endpoint over this origin's TLS, which OIDC Core 3.1.3.7 accepts in place of checking its signature.
 * @returns {Promise<string>} where to go next
 */
export async function completeSignIn() {
  const params = new URLSearchParams(location.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING) ?? 'null');
  sessionStorage.removeItem(PENDING);
  if (params.get('error')) throw new Error(params.get('error_description') || params.get('error') || 'sign-in failed');
  if (!pending || !params.get('state') || params.get('state') !== pending.state) throw new Error('state');
  const code = params.get('code');
  if (!code) throw new Error('code');
  const meta = await discover();
  const set = await tokenRequest(
    new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUri(), client_id: CLIENT_ID, code_verifier: pending.verifier, resource: ADMIN_RESOURCE }),
  );
  const c = /** @type {IdClaims & { iss?: string, aud?: string | string[], nonce?: string }} */ (set.claims);
  const audiences = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (c.iss !== meta.issuer || !audiences.includes(CLIENT_ID) || c.nonce !== pending.nonce) throw new Error('id_token');
  keep(set);
  sessionStorage.setItem(SIGNED_IN_AT, String(Date.now()));
  return pending.returnTo;
}

/** @type {Promise<void> | undefined} */
let refreshing;

/** Uses the refresh token; on failure forgets the tokens (the caller signs in again). */
export async function refresh() {
  const current = tokens;
  if (!current?.refresh_token) {
    keep(undefined);
    throw new Error('no refresh token');
  }
  refreshing ??= tokenRequest(
    new URLSearchParams({ grant_type: 'refresh_token', refresh_token: current.refresh_token, client_id: CLIENT_ID, resource: ADMIN_RESOURCE }),
  )
    .then((set) => keep(set))
    .catch((error) => {
      keep(undefined);
      throw error;
    })
    .finally(() => (refreshing = undefined));
  return refreshing;
}

/** True right after a sign-in: sending the browser to sign in again would only come back refused. */
export function justSignedIn() {
  return Date.now() - Number(sessionStorage.getItem(SIGNED_IN_AT) ?? 0) < LOOP_MS;
}

/** A valid access token, refreshed when close to expiry; undefined when signed out. */
export async function accessToken() {
  if (!tokens) return undefined;
  if (tokens.expires_at - MARGIN_MS < Date.now()) {
    try {
      await refresh();
    } catch {
      return undefined;
    }
  }
  return tokens?.access_token;
}

/** Forgets the tokens and ends the IdP session (RP-initiated logout). */
export async function signOut() {
  const idToken = tokens?.id_token;
  keep(undefined);
  const meta = await discover();
  if (!meta.end_session_endpoint) {
    location.assign('/admin/');
    return;
  }
  const url = new URL(meta.end_session_endpoint);
  url.search = new URLSearchParams({
    client_id: CLIENT_ID,
    post_logout_redirect_uri: `${base()}/`,
    ...(idToken ? { id_token_hint: idToken } : {}),
  }).toString();
  location.assign(url.toString());
}
