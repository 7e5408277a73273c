/**
 * A dependency (directory, store) is down while oidc-provider is handling a request. oidc-provider
 * would answer 500 `server_error`; this error makes it answer 503 `temporarily_unavailable` (JSON
 * endpoints) and lets the error page say what is wrong. Never redirected to the client: the person
 * sees the page and can retry in place.
 */
import { errors } from 'oidc-provider';
import { AppError } from '../../kernel/errors.ts';

export const UNAVAILABLE_DESCRIPTION = 'The directory of accounts is unavailable right now; try again in a moment.';

export class TemporarilyUnavailable extends errors.OIDCProviderError {
  constructor(cause: unknown) {
    super(503, 'temporarily_unavailable', { cause });
    // AppError messages are written for people ("The redis store is unavailable right now; …").
    const description = cause instanceof AppError ? cause.message : UNAVAILABLE_DESCRIPTION;
    Object.assign(this, { expose: true, allow_redirect: false, error_description: description });
  }
}

/** True for a store or directory outage (AppError 503, StoreUnavailableError) or its provider form. */
export function isUnavailable(error: unknown): boolean {
  return error instanceof TemporarilyUnavailable || (error instanceof AppError && error.status === 503);
}

/** Runs `work`, turning an outage into TemporarilyUnavailable. */
export async function orUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof AppError && error.status === 503) throw new TemporarilyUnavailable(error);
    throw error;
  }
}

/** The same object, with every method's outage turned into TemporarilyUnavailable (for the store under oidc-provider). */
export function guardOutages<T extends object>(target: T): T {
  return new Proxy(target, {
    get(object, prop, receiver) {
      const value = Reflect.get(object, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => orUnavailable(() => Promise.resolve((value as (...a: unknown[]) => unknown).apply(object, args)));
    },
  });
}
