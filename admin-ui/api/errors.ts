/** The admin API's error shape and handler live in kernel/api-errors.ts (shared with policies/ and metering/). */
import type { RequestHandler } from 'express';
import type { ApiErrorBody } from '../../kernel/api-errors.ts';

export { apiErrorHandler, errorBody, type ApiErrorBody } from '../../kernel/api-errors.ts';

export const notFoundRoute: RequestHandler = (_req, res) => {
  res.status(404).json({ error: { code: 'not_found', message: 'There is no such API endpoint.' } } satisfies ApiErrorBody);
};
