/**
 * Request validation with zod. Bodies are `.strict()`: a field the endpoint does not know is refused
 * with 400 naming it, never silently ignored (so `{ "platformAdmin": true }` cannot slip through).
 */
import type { Request } from 'express';
import { z } from 'zod';
import { AppError } from '../../kernel/errors.ts';
import { MAX_LIMIT } from '../../directory/paging.ts';

export function validationError(error: z.ZodError, where: 'body' | 'query'): AppError {
  const fields: Record<string, string> = {};
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path.map(String), key].join('.')] = 'is not a field of this request';
    } else {
      fields[issue.path.map(String).join('.') || where] = issue.message;
    }
  }
  const unknown = Object.entries(fields).filter(([, m]) => m === 'is not a field of this request').map(([k]) => k);
  const message = unknown.length ? `Unknown field${unknown.length > 1 ? 's' : ''} in the request: ${unknown.join(', ')}.` : 'Some fields of the request are not valid.';
  return new AppError(400, 'validation_failed', message, { fields });
}

export function parseBody<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const result = schema.safeParse(req.body ?? {});
  if (!result.success) throw validationError(result.error, 'body');
  return result.data;
}

export const pagingQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(MAX_LIMIT).optional(),
    cursor: z.string().max(2000).optional(),
  })
  .strict();

export function parseQuery<S extends z.ZodType>(schema: S, req: Request): z.output<S> {
  const result = schema.safeParse(req.query ?? {});
  if (!result.success) throw validationError(result.error, 'query');
  return result.data;
}
