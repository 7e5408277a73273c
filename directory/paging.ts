/**
 * Keyset paging shared by both directory implementations: items are sorted by a stable key and the
 * cursor is the last key of the previous page (opaque to callers: base64url).
 */
import { badRequest } from '../kernel/errors.ts';
import type { Page } from './types.ts';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw badRequest('The page size is not valid.', { limit: `must be a whole number from 1 to ${MAX_LIMIT}` });
  return Math.min(limit, MAX_LIMIT);
}

export function encodeCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw badRequest('The cursor is not valid.', { cursor: 'pass back the `next` value of the previous page' });
  return Buffer.from(cursor, 'base64url').toString('utf8');
}

/** One page of `items`, which must already be sorted by `key` (ascending, unique). */
export function pageOf<T>(items: T[], key: (item: T) => string, options: { limit?: number; cursor?: string } = {}): Page<T> {
  const limit = clampLimit(options.limit);
  const after = decodeCursor(options.cursor);
  const rest = after === undefined ? items : items.filter((item) => key(item) > after);
  const slice = rest.slice(0, limit);
  const page: Page<T> = { items: slice, total: items.length };
  if (rest.length > limit) page.next = encodeCursor(key(slice[slice.length - 1]));
  return page;
}

export function byKey<T>(key: (item: T) => string): (a: T, b: T) => number {
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  };
}
