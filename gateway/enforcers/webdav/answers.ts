/**
 * Answers in the dialect Nextcloud clients understand: Sabre's DAV error XML. The desktop and
 * mobile clients show `s:message` to the person, so it says what happened, the plan, the usage
 * and how to get more space.
 */
import type { Refusal } from '../types.ts';

/** Escapes text content (quotes need no escaping there, and clients show the text as it is). */
function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function davError(status: number, exception: string, message: string, extra: Record<string, string> = {}): Refusal {
  const body =
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">\n  <s:exception>Sabre\\DAV\\Exception\\${exception}</s:exception>\n  <s:message>${escapeXml(message)}</s:message>\n</d:error>\n`;
  return { status, headers: { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-store', ...extra }, body };
}

/** 1536 → "1.5 KB"; binary units, as Nextcloud shows sizes. */
export function readableSize(bytes: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'];
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  const text = unit === 0 || value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[unit]}`;
}

export interface OverQuota {
  plan: string;
  limit: number;
  used: number;
  inFlight: number;
  needed: number;
  service: string;
  moreSpace?: string;
}

export function insufficientStorage(o: OverQuota): Refusal {
  const busy = o.inFlight > 0 ? ` (plus ${readableSize(o.inFlight)} of uploads in progress)` : '';
  const more = o.moreSpace ? ` To get more space, choose a larger plan or an extra storage block at ${o.moreSpace}, or delete files you no longer need.` : ' Delete files you no longer need, or ask for a larger plan.';
  const message =
    `Not enough storage: this upload needs ${readableSize(o.needed)}, and your plan "${o.plan}" gives ${readableSize(o.limit)} on ${o.service}, ` +
    `of which ${readableSize(o.used)} are used${busy}.${more}`;
  return davError(507, 'InsufficientStorage', message);
}
