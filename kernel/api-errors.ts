/**
 * The admin API's one error shape: `{ "error": { "code", "message", "fields"? } }`. AppErrors keep
 * their status and person-readable message; anything else is a 500 whose detail goes to the log only.
 * Every router of the admin API (directory, policies, usage, factors …) ends with this handler, so
 * each also answers in this shape when mounted on its own (tests).
 */
import type { ErrorRequestHandler } from 'express';
import { AppError } from './errors.ts';
import type { Logger } from './logger.ts';
import { silentLogger } from './logger.ts';

export interface ApiErrorBody {
  error: { code: string; message: string; fields?: Record<string, string> };
}

export function errorBody(error: AppError): ApiErrorBody {
  return { error: { code: error.code, message: error.message, ...(error.fields ? { fields: error.fields } : {}) } };
}

/** Maps what express's body parser throws (bad JSON, too large) to AppErrors. */
function fromBodyParser(error: unknown): AppError | undefined {
  const e = error as { type?: string; status?: number };
  if (e?.type === 'entity.parse.failed') return new AppError(400, 'invalid_json', 'The request body is not valid JSON.', { fields: { body: 'must be valid JSON' } });
  if (e?.type === 'entity.too.large') return new AppError(413, 'body_too_large', 'The request body is too large.', { fields: { body: 'is too large' } });
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new AppError(415, 'unsupported_encoding', 'Send the body as UTF-8 JSON.');
  return undefined;
}

export function apiErrorHandler(logger: Logger = silentLogger): ErrorRequestHandler {
  return (error, req, res, next) => {
    // A response already under way (a streamed report) cannot change its status: let express end it.
    if (res.headersSent) return next(error);
    const known = error instanceof AppError ? error : fromBodyParser(error);
    if (known) {
      if (known.status >= 500) logger.warn({ err: known, detail: known.detail, path: req.path }, 'admin API dependency failure');
      if (known.status === 401 && !res.getHeader('WWW-Authenticate')) res.setHeader('WWW-Authenticate', 'Bearer realm="porta"');
      res.status(known.status).json(errorBody(known));
      return;
    }
    logger.error({ err: error, path: req.path, method: req.method }, 'admin API internal error');
    res.status(500).json({ error: { code: 'internal', message: 'Something went wrong on our side; it has been logged. Nothing was changed.' } } satisfies ApiErrorBody);
  };
}
