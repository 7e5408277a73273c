/**
 * `/account/factors`: the signed-in person's own second factors, on the IdP (server-rendered, like the
 * login pages): list, set up an authenticator app or a passkey, remove them, renew recovery codes,
 * turn passkey-only sign-in on or off. Who is signed in comes from oidc-provider's session cookie;
 * forms carry a CSRF token bound to that session.
 */
import express, { type Request, type Response, type Router } from 'express';
import QRCode from 'qrcode';
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Directory, Account } from '../../directory/types.ts';
import type { KeyValueStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { html, type SafeHtml } from '../interactions/template.ts';
import { layout, errorPage, type PageContext } from '../interactions/pages.ts';
import { FACTOR_SECURITY_HEADERS, enrolmentBlock, recoveryCodesPage } from '../interactions/factor-pages.ts';
import { csrfToken } from '../interactions/router.ts';
import { pickLanguage, isLanguage, LANG_COOKIE, translate } from '../i18n/index.ts';
import { secretsEqual } from '../../kernel/ids.ts';
import { tf } from './i18n.ts';
import type { FactorStore, FactorSummary } from './factor-store.ts';
import type { SecretBox } from './secret-box.ts';
import { newTotpSecret, otpauthUri, formatSecret } from './totp.ts';
import { parseCredential, registrationOptions, verifyRegistration, type RelyingParty } from './webauthn.ts';

export const ACCOUNT_FACTORS_PATH = '/account/factors';
const PENDING_TTL_SECONDS = 900;

export interface AccountFactorsDeps {
  provider: () => Provider;
  directory: Directory;
  cookieKeys: () => string[];
  factors: FactorStore;
  box: SecretBox;
  kv: KeyValueStore;
  rp: RelyingParty;
  clock: Clock;
  logger: Logger;
}

interface PendingEnrolment {
  totpSecret: string;
  challenge?: string;
}

function cookie(req: Request, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

function send(res: Response, status: number, body: string): void {
  res.status(status).set(FACTOR_SECURITY_HEADERS).type('html').send(body);
}

function date(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function accountFactorsRouter(deps: AccountFactorsDeps): Router {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '32kb' });
  const { factors, box, kv, rp, logger } = deps;

  /** The signed-in account and the session uid, from oidc-provider's session cookie. */
  const signedIn = async (req: Request, res: Response): Promise<{ account: Account; sessionUid: string } | undefined> => {
    const provider = deps.provider();
    const ctx = provider.createContext(req, res) as unknown as KoaContextWithOIDC;
    const session = await provider.Session.get(ctx);
    if (!session.accountId || !session.uid) return undefined;
    const account = await deps.directory.getAccount(session.accountId);
    return account && account.status === 'active' ? { account, sessionUid: session.uid } : undefined;
  };
  const csrfOf = (sessionUid: string) => csrfToken(deps.cookieKeys()[0] ?? '', `account-factors:${sessionUid}`);
  const csrfValid = (sessionUid: string, token: unknown) =>
    typeof token === 'string' && deps.cookieKeys().map((key) => secretsEqual(csrfToken(key, `account-factors:${sessionUid}`), token)).includes(true);
  const pendingKey = (sessionUid: string) => `2fa:account:${sessionUid}`;

  const pageOf = (req: Request): PageContext => {
    const lang = isLanguage(req.query.lang) ? req.query.lang : pickLanguage({ cookie: cookie(req, LANG_COOKIE), acceptLanguage: req.get('accept-language') });
    return { lang, url: ACCOUNT_FACTORS_PATH };
  };

  const render = async (res: Response, page: PageContext, who: { account: Account; sessionUid: string }, status = 200, error?: string) => {
    const t = (key: Parameters<typeof tf>[1], vars?: Record<string, string | number>) => tf(page.lang, key, vars);
    const summary: FactorSummary = await factors.summary(who.account.id);
    const record = await factors.get(who.account.id);
    const secret = newTotpSecret();
    const options = await registrationOptions(rp, who.account, record?.passkeys ?? []);
    await kv.set(pendingKey(who.sessionUid), JSON.stringify({ totpSecret: box.seal(secret), challenge: options.challenge } satisfies PendingEnrolment), PENDING_TTL_SECONDS);
    const csrf = csrfOf(who.sessionUid);
    const action = (name: string, label: string, extra: SafeHtml | '' = '') =>
      html`<form method="post" action="${ACCOUNT_FACTORS_PATH}" class="inline"><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="action" value="${name}">${extra}<button type="submit">${label}</button></form>`;
    const qrSvg = await QRCode.toString(otpauthUri({ issuer: rp.name, account: who.account.username, secret }), { type: 'svg', margin: 1, width: 200 });
    const body = html`<h1>${t('factors.title')}</h1>
<h2>${t('factors.totp')}</h2>
${summary.totp ? html`<p>${t('factors.totpOn', { date: date(summary.totp.createdAt) })}</p>${action('remove-totp', t('factors.remove'))}` : html`<p>${t('factors.none')}</p>`}
<h2>${t('factors.passkeys')}</h2>
${summary.passkeys.length > 0
    ? html`<ul class="passkeys">${summary.passkeys.map((p) => html`<li><span data-passkey>${p.name}</span> (${date(p.createdAt)}) ${action('remove-passkey', t('factors.remove'), html`<input type="hidden" name="id" value="${p.id}">`)}</li>`)}</ul>
<p>${summary.passwordless ? t('factors.passwordlessOn') : t('factors.passwordlessOff')}</p>
${action(summary.passwordless ? 'passwordless-off' : 'passwordless-on', `${t('factors.passwordless')}: ${summary.passwordless ? t('factors.turnOff') : t('factors.turnOn')}`)}`
    : html`<p>${t('factors.none')}</p>`}
<h2>${t('factors.recovery')}</h2>
<p>${t('factors.recoveryLeft', { count: summary.recoveryCodesLeft })}</p>
${summary.totp || summary.passkeys.length > 0 ? action('renew-codes', t('factors.renew')) : ''}
<hr>
${enrolmentBlock(page, { action: ACCOUNT_FACTORS_PATH, csrf, qrSvg, secret: formatSecret(secret), passkeyOptions: options, error })}
<p><a href="/admin/account">${t('factors.back')}</a></p>`;
    send(res, status, layout(page, t('factors.title'), body));
  };

  const notSignedIn = (res: Response, page: PageContext) =>
    send(res, 401, layout(page, tf(page.lang, 'factors.title'), html`<h1>${tf(page.lang, 'factors.title')}</h1><p>${tf(page.lang, 'factors.signIn')}</p><p><a href="/admin/account">${tf(page.lang, 'factors.signInLink')}</a></p>`));

  router.get(ACCOUNT_FACTORS_PATH, async (req, res, next) => {
    try {
      const page = pageOf(req);
      const who = await signedIn(req, res);
      if (!who) return notSignedIn(res, page);
      await render(res, page, who);
    } catch (error) {
      next(error);
    }
  });

  router.post(ACCOUNT_FACTORS_PATH, form, async (req, res, next) => {
    try {
      const page = pageOf(req);
      const who = await signedIn(req, res);
      if (!who) return notSignedIn(res, page);
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (!csrfValid(who.sessionUid, body.csrf)) {
        send(res, 403, errorPage(page, { message: translate(page.lang, 'error.csrf'), code: 'invalid_csrf' }));
        return;
      }
      const accountId = who.account.id;
      const raw = await kv.get(pendingKey(who.sessionUid));
      const pending = raw ? (JSON.parse(raw) as PendingEnrolment) : undefined;
      let codes: string[] | undefined;
      const action = body.action ?? body.method;
      switch (action) {
        case 'otp': {
          const result = pending ? await factors.enrolTotp(accountId, box.open(pending.totpSecret), typeof body.code === 'string' ? body.code : '') : { ok: false as const };
          if (!result.ok) return render(res, page, who, 400, tf(page.lang, 'factor.failed'));
          codes = result.recoveryCodes;
          break;
        }
        case 'passkey': {
          const response = parseCredential<RegistrationResponseJSON>(body.credential);
          const name = typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 60) : tf(page.lang, 'enrol.passkeyDefaultName');
          const passkey = response && pending?.challenge ? await verifyRegistration(rp, response, pending.challenge, name, deps.clock.now()) : undefined;
          await kv.delete(pendingKey(who.sessionUid));
          if (!passkey) return render(res, page, who, 400, tf(page.lang, 'factor.passkeyFailed'));
          codes = (await factors.addPasskey(accountId, passkey)).recoveryCodes;
          break;
        }
        case 'remove-totp':
          await factors.removeTotp(accountId);
          break;
        case 'remove-passkey':
          if (typeof body.id === 'string') await factors.removePasskey(accountId, body.id);
          break;
        case 'renew-codes':
          if (await factors.hasSecondFactor(accountId)) codes = await factors.renewRecoveryCodes(accountId);
          break;
        case 'passwordless-on':
        case 'passwordless-off':
          await factors.setPasswordless(accountId, action === 'passwordless-on');
          break;
        default:
          break;
      }
      if (typeof action === 'string') logger.info({ accountId, action }, 'second factors changed by their owner');
      if (codes) {
        send(res, 200, recoveryCodesPage(page, { action: ACCOUNT_FACTORS_PATH, csrf: csrfOf(who.sessionUid), codes }));
        return;
      }
      res.redirect(303, ACCOUNT_FACTORS_PATH);
    } catch (error) {
      next(error);
    }
  });

  return router;
}
