/**
 * What the IdP's HTML pages (sign-in, consent, second factor, account pages) share when answering:
 * the person's language (`?lang=` remembered in a cookie, else the cookie, else Accept-Language) and
 * an HTML answer with the security headers.
 */
import type { Request, Response } from 'express';
import { isLanguage, LANG_COOKIE, pickLanguage, type Language } from './i18n/index.ts';
import { SECURITY_HEADERS } from './interactions/pages.ts';
import { readCookie } from './account/csrf.ts';

export function languageOf(req: Request, res: Response): Language {
  const query = req.query.lang;
  if (isLanguage(query)) {
    res.cookie(LANG_COOKIE, query, { path: '/', sameSite: 'lax', httpOnly: true, maxAge: 365 * 86400 * 1000, secure: req.secure });
  }
  return pickLanguage({ query, cookie: readCookie(req, LANG_COOKIE), acceptLanguage: req.get('accept-language') });
}

export function sendPage(res: Response, status: number, body: string): void {
  res.status(status).set(SECURITY_HEADERS).type('html').send(body);
}
