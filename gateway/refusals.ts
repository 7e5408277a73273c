/** The ways the gateway says no, beyond the kernel's AppError family. */
import { AppError } from '../kernel/errors.ts';

/** Nobody is signed in and the service needs someone: a browser goes to the IdP, an API client gets 401. */
export class SignInRequired extends AppError {
  constructor(message = 'Sign in to use this service.') {
    super(401, 'sign_in_required', message);
    this.name = 'SignInRequired';
  }
}

/** Signed in, but the policies say no. */
export class AccessDenied extends AppError {
  readonly wouldAllow?: string;
  constructor(reason: string, wouldAllow?: string) {
    super(403, 'access_denied', reason);
    this.name = 'AccessDenied';
    this.wouldAllow = wouldAllow;
  }
}

export class RateLimited extends AppError {
  readonly retryAfterSeconds: number;
  constructor(retryAfterSeconds: number) {
    super(429, 'rate_limited', `Too many requests; try again in ${retryAfterSeconds} second${retryAfterSeconds === 1 ? '' : 's'}.`);
    this.name = 'RateLimited';
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export const upstreamUnreachable = (service: string, cause: unknown) =>
  new AppError(502, 'bad_gateway', `${service} cannot be reached right now. Try again in a moment; if it persists, tell the people who run it.`, { cause });

export const upstreamTimeout = (service: string) =>
  new AppError(504, 'gateway_timeout', `${service} took too long to answer. Try again in a moment.`);
