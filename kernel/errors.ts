/**
 * One error family for the whole of Porta. `message` is safe to show a person; `detail` is for the
 * log only and is never sent. Each surface (gateway, IdP, admin API) has one mapper that turns these
 * into its own response shape.
 */
export class AppError extends Error {
  readonly status: number;
  readonly code: string;
  readonly detail?: string;
  readonly fields?: Record<string, string>;
  constructor(status: number, code: string, message: string, options: { detail?: string; fields?: Record<string, string>; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.status = status;
    this.code = code;
    this.detail = options.detail;
    this.fields = options.fields;
  }
}

export const badRequest = (message: string, fields?: Record<string, string>) => new AppError(400, 'bad_request', message, { fields });
export const unauthorized = (message = 'Sign in first.') => new AppError(401, 'unauthorized', message);
export const forbidden = (message = 'You are not allowed to do this.') => new AppError(403, 'forbidden', message);
export const notFound = (message = 'Not found.') => new AppError(404, 'not_found', message);
export const conflict = (message: string) => new AppError(409, 'conflict', message);
export const storeUnavailable = (what: string, cause?: unknown) =>
  new AppError(503, 'store_unavailable', `${what} is unavailable right now; try again in a moment.`, { cause });

/** Thrown by a store when its backend cannot be reached. */
export class StoreUnavailableError extends AppError {
  constructor(backend: string, cause?: unknown) {
    super(503, 'store_unavailable', `The ${backend} store is unavailable right now; try again in a moment.`, { cause });
    this.name = 'StoreUnavailableError';
  }
}
