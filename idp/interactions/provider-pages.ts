/**
 * The pages oidc-provider renders itself (logout confirmation, signed-out, errors), in Porta's look,
 * language and Content-Security-Policy.
 */
import type { KoaContextWithOIDC, ErrorOut } from 'oidc-provider';
import type { Logger } from 'pino';
import { isUnavailable } from '../provider/unavailable.ts';
import { pickLanguage, translate, isLanguage, LANG_COOKIE, type Language } from '../i18n/index.ts';
import { SECURITY_HEADERS, errorPage, logoutPage, loggedOutPage, type PageContext } from './pages.ts';
import { trusted } from './template.ts';

function pageContext(ctx: KoaContextWithOIDC): PageContext {
  if (isLanguage(ctx.query.lang)) {
    // Remember the switcher's choice, as the interaction pages do.
    ctx.cookies.set(LANG_COOKIE, ctx.query.lang, { signed: false, httpOnly: true, sameSite: 'lax', path: '/', maxAge: 365 * 86400 * 1000, secure: ctx.secure });
  }
  const lang: Language = pickLanguage({
    query: ctx.query.lang,
    cookie: ctx.cookies.get(LANG_COOKIE, { signed: false }),
    acceptLanguage: ctx.get('accept-language'),
  });
  return { lang, url: ctx.originalUrl || ctx.url };
}

function send(ctx: KoaContextWithOIDC, body: string): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) ctx.set(name, value);
  ctx.type = 'html';
  ctx.body = body;
}

export async function renderLogout(ctx: KoaContextWithOIDC, form: string): Promise<void> {
  // `form` is oidc-provider's own markup (action URL and its xsrf token), never user input.
  send(ctx, logoutPage(pageContext(ctx), { host: ctx.host, form: trusted(form) }));
}

export async function renderLoggedOut(ctx: KoaContextWithOIDC): Promise<void> {
  send(ctx, loggedOutPage(pageContext(ctx)));
}


export function renderProviderError(logger: Logger) {
  return async (ctx: KoaContextWithOIDC, out: ErrorOut, error: Error): Promise<void> => {
    const page = pageContext(ctx);
    if (isUnavailable(error)) {
      logger.warn({ err: error }, 'IdP dependency unavailable');
      ctx.status = 503;
      ctx.set('Retry-After', '30');
      send(ctx, errorPage(page, { message: translate(page.lang, 'error.directory') }));
      return;
    }
    if (ctx.status >= 500) logger.error({ err: error }, 'IdP error');
    // error_description comes from oidc-provider and names what was wrong with the request.
    const description = out.error_description ? `${translate(page.lang, 'error.generic')} (${out.error_description})` : translate(page.lang, 'error.generic');
    send(ctx, errorPage(page, { message: description, code: out.error }));
  };
}
