/**
 * The IdP's pages, rendered on the server. No scripts at all; the stylesheet is a separate file so the
 * Content-Security-Policy can forbid every inline script and style.
 */
import { html, type SafeHtml } from './template.ts';
import { LANGUAGES, translate, type Language, type Translate } from '../i18n/index.ts';

export const ASSET_PATH = '/idp-assets/porta.css';

/** No scripts, no inline styles, no framing; forms may post only to this origin. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

export const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
  'X-Frame-Options': 'DENY',
};

export const STYLESHEET = `
body{font-family:system-ui,sans-serif;background:#f4f4f1;color:#1d1d1b;margin:0}
main{max-width:26rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 3px rgba(0,0,0,.15)}
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.8rem 0 .3rem}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1rem;padding:.6rem 1rem;font-size:1rem;cursor:pointer}
.alert{background:#fde8e8;border:1px solid #e0a0a0;padding:.6rem;border-radius:.3rem}
nav.lang{max-width:26rem;margin:0 auto;text-align:right;font-size:.9rem}nav.lang a{margin-left:.6rem}
`;

export interface PageContext {
  lang: Language;
  /** Path and query of the current page, for the language switcher. */
  url: string;
}

function withLang(url: string, lang: Language): string {
  const parsed = new URL(url, 'http://x');
  parsed.searchParams.set('lang', lang);
  return `${parsed.pathname}${parsed.search}`;
}

export function layout(ctx: PageContext, title: string, body: SafeHtml): string {
  const t: Translate = (key, vars) => translate(ctx.lang, key, vars);
  const switcher = LANGUAGES.map((lang) =>
    lang === ctx.lang
      ? html`<strong lang="${lang}">${translate(lang, 'lang.name')}</strong>`
      : html`<a href="${withLang(ctx.url, lang)}" lang="${lang}" hreflang="${lang}">${translate(lang, 'lang.name')}</a>`,
  );
  return html`<!DOCTYPE html>
<html lang="${ctx.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="${ASSET_PATH}">
</head>
<body>
<nav class="lang" aria-label="${t('lang.label')}">${switcher}</nav>
<main>
${body}
</main>
</body>
</html>`.value;
}

export function loginPage(ctx: PageContext, input: { action: string; csrf: string; client: string; login?: string; error?: string }): string {
  const t: Translate = (key, vars) => translate(ctx.lang, key, vars);
  return layout(
    ctx,
    t('login.title'),
    html`<h1>${t('login.heading', { client: input.client })}</h1>
${input.error ? html`<p class="alert" role="alert">${input.error}</p>` : ''}
<form method="post" action="${input.action}" autocomplete="on">
<input type="hidden" name="csrf" value="${input.csrf}">
<label for="login">${t('login.login')}</label>
<input type="text" id="login" name="login" value="${input.login ?? ''}" autocomplete="username" autocapitalize="none" required autofocus>
<label for="password">${t('login.password')}</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">${t('login.submit')}</button>
</form>
<p><a href="/account/forgot-password?return=${encodeURIComponent(input.action.replace(/\/login$/, ''))}">${t('login.forgot')}</a></p>
<p><a href="/account/register?return=${encodeURIComponent(input.action.replace(/\/login$/, ''))}">${t('login.register')}</a></p>`,
  );
}

export function consentPage(ctx: PageContext, input: { action: string; abort: string; csrf: string; client: string; scopes: string[] }): string {
  const t: Translate = (key, vars) => translate(ctx.lang, key, vars);
  const known = new Set(['openid', 'email', 'profile', 'groups', 'plan', 'offline_access']);
  const items = input.scopes.map((scope) =>
    known.has(scope) ? html`<li>${t(`scope.${scope}` as Parameters<Translate>[0])}</li>` : html`<li>${scope}</li>`,
  );
  return layout(
    ctx,
    t('consent.title'),
    html`<h1>${t('consent.heading', { client: input.client })}</h1>
<p>${t('consent.intro', { client: input.client })}</p>
<ul>${items}</ul>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<button type="submit">${t('consent.allow')}</button>
</form>
<form method="post" action="${input.abort}">
<input type="hidden" name="csrf" value="${input.csrf}">
<button type="submit">${t('consent.deny')}</button>
</form>`,
  );
}

export function logoutPage(ctx: PageContext, input: { host: string; form: SafeHtml }): string {
  const t: Translate = (key, vars) => translate(ctx.lang, key, vars);
  return layout(
    ctx,
    t('logout.title'),
    html`<h1>${t('logout.heading')}</h1>
<p>${t('logout.question', { host: input.host })}</p>
${input.form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">${t('logout.yes')}</button>
<button type="submit" form="op.logoutForm">${t('logout.no')}</button>`,
  );
}

export function loggedOutPage(ctx: PageContext): string {
  const t: Translate = (key, vars) => translate(ctx.lang, key, vars);
  return layout(ctx, t('logout.done.title'), html`<h1>${t('logout.done.title')}</h1><p>${t('logout.done')}</p>`);
}

export function errorPage(ctx: PageContext, input: { message: string; code?: string }): string {
  const t: Translate = (key, vars) => translate(ctx.lang, key, vars);
  return layout(
    ctx,
    t('error.title'),
    html`<h1>${t('error.title')}</h1>
<p class="alert" role="alert">${input.message}</p>
${input.code ? html`<p><small>${t('error.code')}: <code>${input.code}</code></small></p>` : ''}`,
  );
}
