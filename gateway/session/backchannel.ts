/**
 * OpenID Connect Back-Channel Logout 1.0: the IdP POSTs a `logout_token` when a person signs out
 * there (or an admin ends their sessions). The token is verified like any IdP token (signature by
 * the JWKS, `iss`, `aud` = the gateway's client id, `iat`), must carry the back-channel logout
 * event and no `nonce`; every gateway session of its `sid` (or, without `sid`, of its `sub`) ends
 * in every gateway process before the answer goes back.
 */
import { jwtVerify } from 'jose';
import type { Clock } from '../../kernel/clock.ts';
import type { Logger } from '../../kernel/logger.ts';
import { AppError } from '../../kernel/errors.ts';
import type { IssuerClient } from '../auth/issuer.ts';
import type { SessionStore } from './session-store.ts';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const invalid = (why: string) => new AppError(400, 'invalid_request', `The logout token was refused: ${why}.`);

export function createBackchannelLogout(options: { issuer: IssuerClient; sessions: SessionStore; clientId: string; clock: Clock; logger: Logger }) {
  const { issuer, sessions, clientId, clock, logger } = options;
  /** Ends the sessions named by a logout token; returns how many ended. */
  return async function backchannelLogout(logoutToken: string | undefined): Promise<number> {
    if (!logoutToken) throw invalid('logout_token is missing');
    const keys = await issuer.keys();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(logoutToken, keys, {
        issuer: issuer.issuer,
        audience: clientId,
        algorithms: ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'],
        requiredClaims: ['iat'],
        maxTokenAge: '10 minutes',
        currentDate: new Date(clock.now()),
      }));
    } catch (error) {
      throw invalid(`it is not a valid token from the identity provider (${(error as Error).message})`);
    }
    const events = payload.events as Record<string, unknown> | undefined;
    if (!events || typeof events !== 'object' || typeof events[EVENT] !== 'object') throw invalid('it has no back-channel logout event');
    if ('nonce' in payload) throw invalid('it carries a nonce');
    const sid = typeof payload.sid === 'string' ? payload.sid : undefined;
    const sub = typeof payload.sub === 'string' ? payload.sub : undefined;
    if (!sid && !sub) throw invalid('it names neither a session (sid) nor a subject (sub)');
    const ended = sid ? await sessions.keysOfSid(sid) : await sessions.keysOfSubject(sub as string);
    await sessions.end(ended);
    logger.info({ sid, subject: sub, sessions: ended.length }, 'back-channel logout');
    return ended.length;
  };
}
