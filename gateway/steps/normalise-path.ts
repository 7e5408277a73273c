/**
 * Step: normalise the path. The route and the policy decision are made on the result, and the
 * upstream receives exactly the result, so no encoding trick can make the gateway decide on one path
 * and the upstream serve another.
 *
 * - percent-encoded unreserved characters are decoded (`%2e` → `.`, `%41` → `A`); other escapes are
 *   kept, with upper-case hex;
 * - encoded slashes and backslashes (`%2F`, `%5C`, also double-encoded) are refused: upstreams
 *   disagree about them, so there is no consistent meaning to forward;
 * - `.` and `..` segments are resolved (never above `/`), empty segments (`//`) are dropped;
 * - control characters, raw backslashes, bad escapes and a `..;` segment (Tomcat-style) are refused.
 */
import { AppError } from '../../kernel/errors.ts';
import type { RequestScope } from '../scope.ts';

const UNRESERVED = /[A-Za-z0-9\-._~]/;
const ALREADY_NORMAL = /^(?:\/[^/.%\\\x00-\x1f\x7f][^/%\\\x00-\x1f\x7f]*)+\/?$|^\/$/;
const DOUBLE_ENCODED_SEPARATOR = /%25(2e|2f|5c)/i;

const refuse = (why: string) => new AppError(400, 'bad_path', `This address is not valid: ${why}.`);

function decodeUnreserved(path: string): string {
  if (!path.includes('%')) return path;
  if (DOUBLE_ENCODED_SEPARATOR.test(path)) throw refuse('it contains a double-encoded dot or slash');
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const ch = path[i];
    if (ch !== '%') {
      out += ch;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw refuse('it contains a broken percent-escape');
    const code = parseInt(hex, 16);
    if (code === 0x2f || code === 0x5c) throw refuse('it contains an encoded slash');
    if (code < 0x20 || code === 0x7f) throw refuse('it contains an encoded control character');
    const decoded = String.fromCharCode(code);
    out += UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`;
    i += 2;
  }
  return out;
}

/** The normalised form of a request path (without its query). Throws a 400 AppError for paths refused outright. */
export function normalisePath(raw: string): string {
  // Most paths are already normal: no escapes, no backslashes or controls, no empty segments, no
  // segment starting with a dot. Those come back as they are.
  if (ALREADY_NORMAL.test(raw)) return raw;
  if (!raw.startsWith('/')) throw refuse('it must start with /');
  // Control characters and raw backslashes have no place in a path.
  if (/[\x00-\x1f\x7f\\]/.test(raw)) throw refuse('it contains a control character or a backslash');
  const decoded = decodeUnreserved(raw);
  const segments: string[] = [];
  const parts = decoded.split('/');
  let trailingSlash = false;
  for (let i = 1; i < parts.length; i++) {
    const segment = parts[i];
    const last = i === parts.length - 1;
    if (segment.startsWith('..;')) throw refuse('it contains a "..;" segment');
    if (segment === '' || segment === '.') {
      if (last) trailingSlash = true;
      continue;
    }
    if (segment === '..') {
      segments.pop();
      if (last) trailingSlash = true;
      continue;
    }
    segments.push(segment);
  }
  if (segments.length === 0) return '/';
  return '/' + segments.join('/') + (trailingSlash ? '/' : '');
}

/** Splits `req.url` into the raw path and query, and sets `scope.path` to the normalised path. */
export function normaliseRequestPath(scope: RequestScope, url: string): void {
  const q = url.indexOf('?');
  scope.rawPath = q === -1 ? url : url.slice(0, q);
  scope.query = q === -1 ? '' : url.slice(q);
  scope.path = normalisePath(scope.rawPath);
}
