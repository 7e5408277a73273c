/**
 * The account pages (register, verify email, forgot and reset password, invitation), in the look of
 * the login pages: their layout, stylesheet and escaping template; no scripts.
 */
import { html, type SafeHtml } from '../interactions/template.ts';
import { layout, type PageContext } from '../interactions/pages.ts';
import { translate, type MessageKey, type Translate } from '../i18n/index.ts';

/** Messages per form field, already translated. */
export type FieldErrors = Partial<Record<string, string>>;

export interface FormBase {
  csrf: string;
  /** Where to go after success: a path on this site. */
  returnTo: string;
}

function translator(ctx: PageContext): Translate {
  return (key, vars) => translate(ctx.lang, key, vars);
}

function hidden(base: FormBase, extra: Record<string, string> = {}): SafeHtml {
  const fields = { csrf: base.csrf, return: base.returnTo, ...extra };
  return html`${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">\n`)}`;
}

interface FieldSpec {
  name: string;
  label: MessageKey;
  type?: 'text' | 'password';
  value?: string;
  autocomplete: string;
  inputmode?: string;
}

/** A labelled input with its error, if any, right below it (and tied to it for screen readers). */
function field(ctx: PageContext, spec: FieldSpec, errors: FieldErrors, id = spec.name): SafeHtml {
  const t = translator(ctx);
  const error = errors[spec.name];
  const type = spec.type ?? 'text';
  return html`<label for="${id}">${t(spec.label)}</label>
<input type="${type}" id="${id}" name="${spec.name}"${type === 'text' ? html` value="${spec.value ?? ''}"` : ''} autocomplete="${spec.autocomplete}"${spec.inputmode ? html` inputmode="${spec.inputmode}"` : ''}${spec.autocomplete === 'username' || spec.autocomplete === 'email' ? html` autocapitalize="none"` : ''} required${error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''}>
${error ? html`<p class="alert" id="${id}-error">${error}</p>` : ''}`;
}

function formAlert(ctx: PageContext, errors: FieldErrors, message?: string): SafeHtml | '' {
  if (message) return html`<p class="alert" role="alert">${message}</p>`;
  return Object.keys(errors).length > 0 ? html`<p class="alert" role="alert">${translate(ctx.lang, 'account.error.form')}</p>` : '';
}

function withReturn(path: string, returnTo: string): string {
  return returnTo === DEFAULT_RETURN ? path : `${path}?return=${encodeURIComponent(returnTo)}`;
}

export const DEFAULT_RETURN = '/admin/';

/** A page with a heading, a message and a "Continue" link: closed registration, done, broken links. */
export function messagePage(ctx: PageContext, input: { title: MessageKey; message: string; alert?: boolean; continueTo?: string }): string {
  const t = translator(ctx);
  return layout(
    ctx,
    t(input.title),
    html`<h1>${t(input.title)}</h1>
<p${input.alert ? html` class="alert" role="alert"` : ''}>${input.message}</p>
${input.continueTo ? html`<p><a href="${input.continueTo}">${t('account.continue')}</a></p>` : ''}`,
  );
}

export interface RegisterValues {
  username?: string;
  email?: string;
  name?: string;
}

export function registerPage(ctx: PageContext, base: FormBase, values: RegisterValues, errors: FieldErrors = {}, message?: string): string {
  const t = translator(ctx);
  return layout(
    ctx,
    t('account.register.title'),
    html`<h1>${t('account.register.title')}</h1>
<p>${t('account.register.intro')}</p>
${formAlert(ctx, errors, message)}
<form method="post" action="/account/register" autocomplete="on">
${hidden(base)}${field(ctx, { name: 'username', label: 'account.field.username', value: values.username, autocomplete: 'username' }, errors)}
${field(ctx, { name: 'email', label: 'account.field.email', value: values.email, autocomplete: 'email', inputmode: 'email' }, errors)}
${field(ctx, { name: 'name', label: 'account.field.name', value: values.name, autocomplete: 'name' }, errors)}
${field(ctx, { name: 'password', label: 'account.field.password', type: 'password', autocomplete: 'new-password' }, errors)}
${field(ctx, { name: 'password2', label: 'account.field.password2', type: 'password', autocomplete: 'new-password' }, errors)}
<button type="submit">${t('account.register.submit')}</button>
</form>
<p><a href="${withReturn('/account/forgot-password', base.returnTo)}">${t('login.forgot')}</a></p>`,
  );
}

export function verifyEmailPage(ctx: PageContext, base: FormBase, token: string): string {
  const t = translator(ctx);
  return layout(
    ctx,
    t('account.verify.title'),
    html`<h1>${t('account.verify.title')}</h1>
<p>${t('account.verify.intro')}</p>
<form method="post" action="/account/verify-email">
${hidden(base, { token })}<button type="submit">${t('account.verify.submit')}</button>
</form>`,
  );
}

export function forgotPasswordPage(ctx: PageContext, base: FormBase, login: string, errors: FieldErrors = {}): string {
  const t = translator(ctx);
  return layout(
    ctx,
    t('account.forgot.title'),
    html`<h1>${t('account.forgot.title')}</h1>
<p>${t('account.forgot.intro')}</p>
${formAlert(ctx, errors)}
<form method="post" action="/account/forgot-password">
${hidden(base)}${field(ctx, { name: 'login', label: 'login.login', value: login, autocomplete: 'username' }, errors)}
<button type="submit">${t('account.forgot.submit')}</button>
</form>`,
  );
}

export function resetPasswordPage(ctx: PageContext, base: FormBase, token: string, errors: FieldErrors = {}): string {
  const t = translator(ctx);
  return layout(
    ctx,
    t('account.reset.title'),
    html`<h1>${t('account.reset.title')}</h1>
${formAlert(ctx, errors)}
<form method="post" action="/account/reset-password">
${hidden(base, { token })}${field(ctx, { name: 'password', label: 'account.field.newPassword', type: 'password', autocomplete: 'new-password' }, errors)}
${field(ctx, { name: 'password2', label: 'account.field.password2', type: 'password', autocomplete: 'new-password' }, errors)}
<button type="submit">${t('account.reset.submit')}</button>
</form>`,
  );
}

export interface InvitationView {
  token: string;
  collective: string;
  email: string;
  inviter?: string;
  /** False when registration is closed: only an existing account may join. */
  mayCreate: boolean;
  values: { username?: string; name?: string; login?: string };
  /** Errors of the "create" form. */
  createErrors: FieldErrors;
  /** Error of the "sign in" form. */
  signinError?: string;
}

export function invitationPage(ctx: PageContext, base: FormBase, view: InvitationView): string {
  const t = translator(ctx);
  const intro = view.inviter
    ? t('account.invitation.intro', { inviter: view.inviter, email: view.email, collective: view.collective })
    : t('account.invitation.introAnonymous', { email: view.email, collective: view.collective });
  const create = view.mayCreate
    ? html`<h2>${t('account.invitation.create')}</h2>
${formAlert(ctx, view.createErrors)}
<form method="post" action="/invitation?do=create" autocomplete="on">
${hidden(base, { token: view.token, action: 'create' })}${field(ctx, { name: 'username', label: 'account.field.username', value: view.values.username, autocomplete: 'username' }, view.createErrors)}
${field(ctx, { name: 'name', label: 'account.field.name', value: view.values.name, autocomplete: 'name' }, view.createErrors)}
${field(ctx, { name: 'password', label: 'account.field.password', type: 'password', autocomplete: 'new-password' }, view.createErrors)}
${field(ctx, { name: 'password2', label: 'account.field.password2', type: 'password', autocomplete: 'new-password' }, view.createErrors)}
<button type="submit">${t('account.invitation.createSubmit')}</button>
</form>`
    : '';
  const signinErrors: FieldErrors = view.signinError ? { login: view.signinError } : {};
  return layout(
    ctx,
    t('account.invitation.title'),
    html`<h1>${t('account.invitation.heading', { collective: view.collective })}</h1>
<p>${intro}</p>
${create}
<h2>${t('account.invitation.signin')}</h2>
<form method="post" action="/invitation?do=signin" autocomplete="on">
${hidden(base, { token: view.token, action: 'signin' })}${field(ctx, { name: 'login', label: 'login.login', value: view.values.login, autocomplete: 'username' }, signinErrors, 'signin-login')}
${field(ctx, { name: 'password', label: 'login.password', type: 'password', autocomplete: 'current-password' }, {}, 'signin-password')}
<button type="submit">${t('account.invitation.signinSubmit')}</button>
</form>`,
  );
}
