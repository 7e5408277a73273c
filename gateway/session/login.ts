/**
 * The gateway as an OIDC client of Porta's IdP (authorization code + PKCE, via openid-client):
 * starting a login, finishing it at `/_porta/callback`, refreshing tokens, and the IdP's logout URL.
 *
 * The login state (PKCE verifier, nonce, where to go back) waits in the store under the `state`
 * value, single use, for 10 minutes; the same value sits in a short login cookie so a callback only
 * completes in the browser that started it (no login CSRF).
 */
import * as oidc from 'openid-client';
import type { IncomingMessage } from 'node:http';
import type { KeyValueStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import { AppError, badRequest } from '../../kernel/errors.ts';
import { randomToken, secretsEqual } from '../../kernel/ids.ts';
import type { IssuerClient } from '../auth/issuer.ts';
import type { Claims } from '../types.ts';
import { type CookiePolicy, readCookie, setCookie, clearCookie } from './cookie.ts';
import { safeReturnTo } from './return-to.ts';
import type { GatewaySession, SessionHandle, SessionStore } from './session-store.ts';

const LOGIN_TTL_SECONDS = 600;
/** Claims asked for in the ID token, so the gateway needs no userinfo call (its access token is for itself). */
const ID_TOKEN_CLAIMS = JSON.stringify({
  id_token: { email: null, email_verified: null, name: null, preferred_username: null, groups: null, plan: null },
});
/** Token-internal claims not kept in a session. */
const DROP = new Set(['iss', 'aud', 'exp', 'iat', 'nbf', 'nonce', 'at_hash', 'c_hash', 'azp', 'jti']);

interface PendingLogin {
  verifier: string;
  nonce: string;
  returnTo: string;
}

export interface LoginFlow {
  /** Where to send a browser to sign in, and the login cookie to set. */
  start(returnTo: string): Promise<{ location: string; cookie: string }>;
  /** Finishes a login; the new session's cookie and where to go. */
  callback(req: IncomingMessage): Promise<{ location: string; cookies: string[] }>;
  /** Refreshes the tokens of a session whose access token has expired; undefined when the IdP ended the grant. */
  refresh(handle: SessionHandle): Promise<SessionHandle | undefined>;
  /** The IdP's end-session URL for RP-initiated logout. */
  endSessionUrl(session: GatewaySession | undefined): Promise<string>;
}

export function sessionClaims(...sources: Array<Record<string, unknown> | undefined>): Claims {
  const claims: Record<string, unknown> = {};
  for (const source of sources) {
    if (!source) continue;
    for (const [name, value] of Object.entries(source)) if (!DROP.has(name) && value !== undefined) claims[name] = value;
  }
  return claims as Claims;
}

export function createLoginFlow(options: {
  issuer: IssuerClient;
  kv: KeyValueStore;
  sessions: SessionStore;
  cookies: CookiePolicy;
  clock: Clock;
  logger: Logger;
  publicUrl: string;
  scope: string;
  sessionMaxSeconds: number;
  /** Hosts (with port) an absolute return URL may name. */
  returnHosts: ReadonlySet<string>;
}): LoginFlow {
  const { issuer, kv, sessions, cookies, clock, logger, scope } = options;
  const publicUrl = options.publicUrl.replace(/\/$/, '');
  const redirectUri = `${publicUrl}/_porta/callback`;
  const refreshing = new Map<string, Promise<SessionHandle | undefined>>();

  async function start(returnTo: string) {
    const config = await issuer.client();
    const verifier = oidc.randomPKCECodeVerifier();
    const state = randomToken(32);
    const nonce = randomToken(32);
    const pending: PendingLogin = { verifier, nonce, returnTo: safeReturnTo(returnTo, options.returnHosts) };
    await kv.set(`gw:login:${state}`, JSON.stringify(pending), LOGIN_TTL_SECONDS);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope,
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      resource: publicUrl,
      claims: ID_TOKEN_CLAIMS,
    });
    return { location: url.href, cookie: setCookie(cookies, cookies.loginName, state, LOGIN_TTL_SECONDS) };
  }

  async function callback(req: IncomingMessage) {
    const current = new URL(req.url ?? '/', publicUrl);
    const currentUrl = new URL(`${redirectUri}${current.search}`);
    const state = currentUrl.searchParams.get('state') ?? '';
    const bound = readCookie(req.headers.cookie, cookies.loginName);
    if (!state || !bound || !secretsEqual(state, bound)) {
      throw badRequest('This sign-in did not start in this browser, or it has expired. Open the service again to sign in.');
    }
    const raw = await kv.take(`gw:login:${state}`);
    if (!raw) throw badRequest('This sign-in link has expired or was already used. Open the service again to sign in.');
    const pending = JSON.parse(raw) as PendingLogin;
    const config = await issuer.client();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      tokens = await oidc.authorizationCodeGrant(
        config,
        currentUrl,
        { pkceCodeVerifier: pending.verifier, expectedState: state, expectedNonce: pending.nonce, idTokenExpected: true },
        { resource: publicUrl },
      );
    } catch (error) {
      if (error instanceof oidc.AuthorizationResponseError) {
        throw new AppError(403, 'sign_in_refused', 'The sign-in was cancelled or refused.', { cause: error, detail: error.error });
      }
      if (error instanceof oidc.ResponseBodyError) {
        throw new AppError(400, 'sign_in_failed', 'The sign-in could not be completed. Open the service again to sign in.', { cause: error, detail: error.error });
      }
      throw new AppError(502, 'sign_in_failed', 'The sign-in service did not answer as expected. Try again in a moment.', { cause: error, detail: String(error) });
    }
    const idClaims = tokens.claims();
    if (!idClaims) throw new AppError(502, 'sign_in_failed', 'The sign-in service sent no identity.');
    const claims = sessionClaims(idClaims as Record<string, unknown>);
    const now = clock.now();
    // The session id changes at every login: an old session cookie of this browser ends now.
    const previous = readCookie(req.headers.cookie, cookies.sessionName);
    if (previous) await sessions.end([sessions.keyOf(previous)]);
    const cookie = await sessions.create({
      subject: claims.sub,
      sid: typeof idClaims.sid === 'string' ? idClaims.sid : undefined,
      claims,
      accessToken: tokens.access_token,
      accessTokenExpiresAt: tokens.expires_in ? now + tokens.expires_in * 1000 : undefined,
      refreshToken: tokens.refresh_token,
      idToken: tokens.id_token,
    });
    logger.info({ subject: claims.sub }, 'signed in at the gateway');
    return {
      location: safeReturnTo(pending.returnTo, options.returnHosts),
      cookies: [setCookie(cookies, cookies.sessionName, cookie, options.sessionMaxSeconds), clearCookie(cookies, cookies.loginName)],
    };
  }

  async function doRefresh(handle: SessionHandle): Promise<SessionHandle | undefined> {
    const { session } = handle;
    if (!session.refreshToken) return handle;
    const config = await issuer.client();
    let tokens: Awaited<ReturnType<typeof oidc.refreshTokenGrant>>;
    try {
      tokens = await oidc.refreshTokenGrant(config, session.refreshToken, { resource: publicUrl });
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError) {
        // invalid_grant and friends: the IdP ended this grant (logout, revocation, suspension).
        logger.info({ subject: session.subject, error: error.error }, 'session ended: the IdP refused to refresh it');
        await sessions.end([handle.key]);
        return undefined;
      }
      throw new AppError(503, 'idp_unavailable', 'The sign-in service cannot be reached right now; try again in a moment.', { cause: error });
    }
    const now = clock.now();
    const refreshedClaims = tokens.id_token ? (tokens.claims() as Record<string, unknown> | undefined) : undefined;
    const updated: SessionHandle = {
      key: handle.key,
      session: {
        ...session,
        claims: refreshedClaims ? sessionClaims(session.claims, refreshedClaims) : session.claims,
        accessToken: tokens.access_token,
        accessTokenExpiresAt: tokens.expires_in ? now + tokens.expires_in * 1000 : undefined,
        refreshToken: tokens.refresh_token ?? session.refreshToken,
        idToken: tokens.id_token ?? session.idToken,
      },
    };
    await sessions.save(updated);
    return updated;
  }

  return {
    start,
    callback,
    refresh(handle) {
      let inflight = refreshing.get(handle.key);
      if (!inflight) {
        inflight = doRefresh(handle).finally(() => refreshing.delete(handle.key));
        refreshing.set(handle.key, inflight);
      }
      return inflight;
    },
    async endSessionUrl(session) {
      try {
        const config = await issuer.client();
        if (!config.serverMetadata().end_session_endpoint) return `${publicUrl}/`;
        const params: Record<string, string> = { post_logout_redirect_uri: `${publicUrl}/`, client_id: config.clientMetadata().client_id };
        if (session?.idToken) params.id_token_hint = session.idToken;
        return oidc.buildEndSessionUrl(config, params).href;
      } catch {
        return `${publicUrl}/`;
      }
    },
  };
}
