/**
 * Pages of the second factor: the code/passkey step after the password, enrolment (TOTP with a QR
 * code and a manual key, or a passkey), the recovery codes shown once, and passkey sign-in. The
 * passkey forms need the browser's WebAuthn API, so these pages load one external script
 * (`/interaction-assets/webauthn.js`); their Content-Security-Policy allows only that origin's scripts.
 */
import { html, trusted, type SafeHtml } from './template.ts';
import { layout, SECURITY_HEADERS, type PageContext } from './pages.ts';
import { tf } from '../factors/i18n.ts';

export const WEBAUTHN_SCRIPT_PATH = '/interaction-assets/webauthn.js';

/** As the other pages, plus scripts from this origin only (no inline script). */
export const FACTOR_SECURITY_HEADERS: Record<string, string> = {
  ...SECURITY_HEADERS,
  'Content-Security-Policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'",
};

const script = html`<script src="${WEBAUTHN_SCRIPT_PATH}" defer></script>`;

function alert(message: string | undefined): SafeHtml | '' {
  return message ? html`<p class="alert" role="alert">${message}</p>` : '';
}

/** A form that runs a WebAuthn ceremony (see assets/webauthn.js) and posts the credential. */
export function passkeyForm(ctx: PageContext, input: { action: string; csrf: string; mode: 'create' | 'get'; options: unknown; button: string; method?: string; name?: { label: string; value: string } }): SafeHtml {
  return html`<form method="post" action="${input.action}" data-webauthn="${input.mode}" data-options="${JSON.stringify(input.options)}" data-failed="${tf(ctx.lang, 'factor.passkeyFailed')}" data-unsupported="${tf(ctx.lang, 'factor.needsScript')}">
<input type="hidden" name="csrf" value="${input.csrf}">
${input.method ? html`<input type="hidden" name="method" value="${input.method}">` : ''}
<input type="hidden" name="credential" value="">
${input.name ? html`<label for="passkey-name">${input.name.label}</label><input type="text" id="passkey-name" name="name" value="${input.name.value}" maxlength="60">` : ''}
<button type="submit">${input.button}</button>
<p data-webauthn-status role="status"></p>
</form>`;
}

export function secondFactorPage(
  ctx: PageContext,
  input: { action: string; csrf: string; totp: boolean; recovery: boolean; passkeyOptions?: unknown; error?: string },
): string {
  const t = (key: Parameters<typeof tf>[1]) => tf(ctx.lang, key);
  return layout(
    ctx,
    t('factor.title'),
    html`<h1>${t('factor.heading')}</h1>
${alert(input.error)}
${input.totp ? html`<p>${t('factor.intro')}</p>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="method" value="otp">
<label for="code">${t('factor.code')}</label>
<input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" maxlength="8" required autofocus>
<button type="submit">${t('factor.submit')}</button>
</form>` : ''}
${input.passkeyOptions ? html`<p>${t('factor.passkey')}</p>${passkeyForm(ctx, { action: input.action, csrf: input.csrf, mode: 'get', options: input.passkeyOptions, button: t('factor.passkeyButton'), method: 'passkey' })}` : ''}
${input.recovery ? html`<details><summary>${t('factor.recovery')}</summary>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="method" value="recovery">
<label for="recovery">${t('factor.recoveryCode')}</label>
<input type="text" id="recovery" name="code" autocomplete="off" autocapitalize="none" maxlength="20" required>
<button type="submit">${t('factor.recoverySubmit')}</button>
</form></details>` : ''}
${input.passkeyOptions ? script : ''}`,
  );
}

/** TOTP enrolment (QR code + manual key + first code) and passkey registration, side by side. */
export function enrolmentBlock(
  ctx: PageContext,
  input: { action: string; csrf: string; qrSvg: string; secret: string; passkeyOptions: unknown; error?: string },
): SafeHtml {
  const t = (key: Parameters<typeof tf>[1]) => tf(ctx.lang, key);
  return html`${alert(input.error)}
<h2>${t('enrol.totpHeading')}</h2>
<p>${t('enrol.totpIntro')}</p>
<div class="qr">${trusted(input.qrSvg)}</div>
<p>${t('enrol.manualKey')} <code data-secret>${input.secret}</code></p>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="method" value="otp">
<label for="code">${t('factor.code')}</label>
<input type="text" id="code" name="code" inputmode="numeric" pattern="[0-9 ]*" autocomplete="one-time-code" maxlength="8" required>
<button type="submit">${t('enrol.confirm')}</button>
</form>
<h2>${t('enrol.passkeyHeading')}</h2>
${passkeyForm(ctx, { action: input.action, csrf: input.csrf, mode: 'create', options: input.passkeyOptions, button: t('enrol.passkeyButton'), method: 'passkey', name: { label: t('enrol.passkeyName'), value: t('enrol.passkeyDefaultName') } })}
${script}`;
}

export function enrolmentPage(
  ctx: PageContext,
  input: { action: string; csrf: string; required: boolean; qrSvg: string; secret: string; passkeyOptions: unknown; error?: string },
): string {
  const t = (key: Parameters<typeof tf>[1]) => tf(ctx.lang, key);
  return layout(ctx, t('enrol.title'), html`<h1>${t('enrol.title')}</h1>
<p>${input.required ? t('enrol.required') : t('enrol.optional')}</p>
${enrolmentBlock(ctx, input)}`);
}

/** The recovery codes, shown exactly once. */
export function recoveryCodesPage(ctx: PageContext, input: { action: string; csrf: string; codes: string[] }): string {
  const t = (key: Parameters<typeof tf>[1]) => tf(ctx.lang, key);
  return layout(
    ctx,
    t('enrol.codesTitle'),
    html`<h1>${t('enrol.codesTitle')}</h1>
<p>${t('enrol.codesIntro')}</p>
<ul class="recovery-codes">${input.codes.map((code) => html`<li><code>${code}</code></li>`)}</ul>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<button type="submit">${t('enrol.continue')}</button>
</form>`,
  );
}

export function passkeyLoginPage(ctx: PageContext, input: { action: string; csrf: string; options: unknown; back: string; error?: string }): string {
  const t = (key: Parameters<typeof tf>[1]) => tf(ctx.lang, key);
  return layout(
    ctx,
    t('passkey.title'),
    html`<h1>${t('passkey.title')}</h1>
${alert(input.error)}
<p>${t('passkey.intro')}</p>
${passkeyForm(ctx, { action: input.action, csrf: input.csrf, mode: 'get', options: input.options, button: t('passkey.button') })}
<p><a href="${input.back}">${t('passkey.back')}</a></p>
${script}`,
  );
}
