/**
 * CSRF protection for the account pages. They are not tied to an oidc-provider interaction (a mail
 * link can open them in a fresh browser), so the interaction-bound token of the login pages does not
 * apply: a double-submit token instead. Each browser gets a random, HttpOnly, SameSite=Lax cookie and
 * every form repeats its value; a POST must carry both, equal (compared in constant time). A
 * cross-site form cannot read the cookie to repeat it, and Lax keeps the cookie off cross-site POSTs.
 * A browser's `Origin` / `Sec-Fetch-Site`, when sent, must also say the form came from this site.
 */
import type { Request, Response } from 'express';
import { randomToken, secretsEqual } from '../../kernel/ids.ts';

export const CSRF_COOKIE = 'porta_form';

export function readCookie(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) {
      try {
        return decodeURIComponent(v.join('='));
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}

/** The browser's form token, issuing one (as a cookie) when it has none. */
export function formToken(req: Request, res: Response): string {
  const existing = readCookie(req, CSRF_COOKIE);
  if (existing && /^[\w-]{43}$/.test(existing)) return existing;
  const token = randomToken();
  res.cookie(CSRF_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: req.secure });
  return token;
}

/** True when the POST carries the cookie, the same value in the form, and no foreign origin. */
export function formTokenValid(req: Request, issuerOrigin: string, submitted: unknown): boolean {
  const site = req.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') return false;
  const origin = req.get('origin');
  if (origin && origin !== 'null' && origin !== issuerOrigin) return false;
  const cookie = readCookie(req, CSRF_COOKIE);
  if (!cookie || typeof submitted !== 'string' || submitted.length === 0) return false;
  return secretsEqual(cookie, submitted);
}
