/**
 * Bearer JWT access tokens (RFC 9068), verified locally against the IdP's JWKS: signature, `iss`,
 * `aud` (the gateway's public URL), `exp`, `typ: at+jwt`. A verified token is cached until it
 * expires, so each token costs one signature check, not one per request. Tokens that failed are
 * remembered briefly too, so a flood of one forged token costs one check.
 */
import { jwtVerify, errors as joseErrors } from 'jose';
import type { Clock } from '../../kernel/clock.ts';
import { AppError } from '../../kernel/errors.ts';
import type { Claims } from '../types.ts';
import type { IssuerClient } from './issuer.ts';

export interface VerifiedToken {
  claims: Claims;
  /** Milliseconds since the epoch. */
  expiresAt: number;
}

export interface BearerVerifier {
  verify(token: string): VerifiedToken | Promise<VerifiedToken>;
}

export const invalidToken = (message: string) => new AppError(401, 'invalid_token', message);

const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'EdDSA'];
const FAILURE_MEMORY_MS = 60_000;

export function createBearerVerifier(options: { issuer: IssuerClient; audience: string; clock: Clock; cacheSize: number }): BearerVerifier {
  const { issuer, audience, clock, cacheSize } = options;
  const verified = new Map<string, VerifiedToken>();
  const failed = new Map<string, { until: number; message: string }>();

  function remember<V>(map: Map<string, V>, token: string, value: V): void {
    if (map.size >= cacheSize) map.delete(map.keys().next().value as string);
    map.set(token, value);
  }

  async function verifyFresh(token: string): Promise<VerifiedToken> {
    const keys = await issuer.keys();
    try {
      const { payload } = await jwtVerify(token, keys, {
        issuer: issuer.issuer,
        audience,
        typ: 'at+jwt',
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
        currentDate: new Date(clock.now()),
      });
      const result: VerifiedToken = { claims: payload as Claims, expiresAt: (payload.exp as number) * 1000 };
      remember(verified, token, result);
      return result;
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout || (error instanceof TypeError && !(error instanceof joseErrors.JOSEError))) {
        throw new AppError(503, 'idp_unavailable', 'The sign-in service cannot be reached right now; try again in a moment.', { cause: error });
      }
      const message =
        error instanceof joseErrors.JWTExpired
          ? 'The access token has expired.'
          : error instanceof joseErrors.JWTClaimValidationFailed
            ? `The access token is not for this service (${error.claim} does not match).`
            : 'The access token is not valid.';
      if (!(error instanceof joseErrors.JWTExpired)) remember(failed, token, { until: clock.now() + FAILURE_MEMORY_MS, message });
      throw invalidToken(message);
    }
  }

  return {
    verify(token) {
      const hit = verified.get(token);
      if (hit) {
        if (hit.expiresAt > clock.now()) return hit;
        verified.delete(token);
        throw invalidToken('The access token has expired.');
      }
      const failure = failed.get(token);
      if (failure) {
        if (failure.until > clock.now()) throw invalidToken(failure.message);
        failed.delete(token);
      }
      return verifyFresh(token);
    },
  };
}
