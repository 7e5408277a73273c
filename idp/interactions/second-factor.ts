/**
 * The second step of a sign-in, after the password: a TOTP code, a recovery code or a passkey; or,
 * for an account that must have a second factor and has none (or a client that asked for
 * `acr_values=urn:porta:acr:2fa`), enrolment before the sign-in completes. Also passkey-only sign-in
 * for accounts that turned it on. What the first step established is kept in the store under the
 * interaction's uid (`2fa:<uid>`); the interaction itself is bound to this browser by oidc-provider's
 * cookie, and every form carries the interaction's CSRF token.
 *
 * Wrong codes and failed passkeys count toward the same login throttle as wrong passwords.
 */
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { readFileSync } from 'node:fs';
import QRCode from 'qrcode';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Directory, Account } from '../../directory/types.ts';
import type { KeyValueStore } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { RegistrationResponseJSON, AuthenticationResponseJSON } from '@simplewebauthn/server';
import { LoginThrottledError, type LoginThrottle } from '../regulation/login-throttle.ts';
import { translate } from '../i18n/index.ts';
import { errorPage, type PageContext } from './pages.ts';
import { FACTOR_SECURITY_HEADERS, WEBAUTHN_SCRIPT_PATH, enrolmentPage, passkeyLoginPage, recoveryCodesPage, secondFactorPage } from './factor-pages.ts';
import { tf } from '../factors/i18n.ts';
import { hasSecondFactor, type FactorStore } from '../factors/factor-store.ts';
import type { SecretBox } from '../factors/secret-box.ts';
import { newTotpSecret, otpauthUri, formatSecret } from '../factors/totp.ts';
import { authenticationOptions, parseCredential, registrationOptions, verifyAuthentication, verifyRegistration, type RelyingParty } from '../factors/webauthn.ts';
import { signIns } from '../metrics.ts';

import { ACR_1FA, ACR_2FA } from '../provider/configuration.ts';

export { ACR_1FA, ACR_2FA };

/** `acr` for a list of methods: two factors when a one-time code or a hardware key was used. */
export function acrOf(amr: string[]): string {
  return amr.includes('otp') || amr.includes('hwk') ? ACR_2FA : ACR_1FA;
}

const WEBAUTHN_SCRIPT = readFileSync(new URL('../factors/assets/webauthn.js', import.meta.url), 'utf8');
const PENDING_TTL_SECONDS = 900;
const pendingKey = (uid: string) => `2fa:${uid}`;

export interface SecondFactorDeps {
  factors: FactorStore;
  box: SecretBox;
  kv: KeyValueStore;
  rp: RelyingParty;
  /** Whether the account must use a second factor (the policy's `secondFactor` section). */
  required(accountId: string): Promise<boolean>;
}

/** What the password step established, kept until the second step ends. */
interface PendingLogin {
  accountId: string;
  /** As typed, for the throttle's key. */
  login: string;
  required: boolean;
  /** Sealed TOTP secret being enrolled. */
  totpSecret?: string;
  /** WebAuthn challenge of the page last shown. */
  challenge?: string;
  /** The factor enrolled in this sign-in; set once the recovery codes were shown. */
  enrolled?: 'otp' | 'hwk';
}

type Handler = (req: Request, res: Response, page: PageContext) => Promise<void>;

export interface InteractionTools {
  provider: () => Provider;
  directory: Directory;
  throttle: LoginThrottle;
  clock: Clock;
  logger: Logger;
  route: (handler: Handler) => (req: Request, res: Response, next: NextFunction) => Promise<void>;
  csrf: (uid: string) => string;
  csrfValid: (uid: string, token: unknown) => boolean;
}

function sendPage(res: Response, status: number, body: string): void {
  res.status(status).set(FACTOR_SECURITY_HEADERS).type('html').send(body);
}

function ipOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** Whether the client asked for a second factor with `acr_values`. */
export function wantsSecondFactor(params: Record<string, unknown>): boolean {
  return typeof params.acr_values === 'string' && params.acr_values.split(' ').includes(ACR_2FA);
}

export function secondFactorRouter(deps: SecondFactorDeps, tools: InteractionTools): { router: Router; afterPassword: (req: Request, res: Response, uid: string, params: Record<string, unknown>, account: Account, login: string) => Promise<boolean> } {
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '32kb' });
  const { factors, kv, box, rp } = deps;
  const { throttle, clock, logger } = tools;

  const savePending = (uid: string, pending: PendingLogin) => kv.set(pendingKey(uid), JSON.stringify(pending), PENDING_TTL_SECONDS);
  const readPending = async (uid: string): Promise<PendingLogin | undefined> => {
    const raw = await kv.get(pendingKey(uid));
    return raw ? (JSON.parse(raw) as PendingLogin) : undefined;
  };

  const finish = async (req: Request, res: Response, uid: string, accountId: string, amr: string[], login: string) => {
    signIns.inc({ outcome: 'success' });
    await throttle.success(login, ipOf(req));
    await kv.delete(pendingKey(uid));
    logger.info({ accountId, amr }, 'signed in');
    await tools.provider().interactionFinished(req, res, { login: { accountId, amr, acr: acrOf(amr), ts: Math.floor(clock.now() / 1000) } }, { mergeWithLastSubmission: false });
  };

  /** The interaction at the login prompt, with its pending second step; an error page otherwise. */
  const loginStep = async (req: Request, res: Response, page: PageContext, options: { post: boolean; pending: boolean }) => {
    const details = await tools.provider().interactionDetails(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (details.prompt.name !== 'login' || (options.post && !tools.csrfValid(details.uid, body.csrf))) {
      sendPage(res, 403, errorPage(page, { message: translate(page.lang, 'error.csrf'), code: 'invalid_csrf' }));
      return undefined;
    }
    const pending = options.pending ? await readPending(details.uid) : undefined;
    if (options.pending && !pending) {
      sendPage(res, 400, errorPage(page, { message: translate(page.lang, 'error.session'), code: 'invalid_interaction' }));
      return undefined;
    }
    return { details, body, pending: pending as PendingLogin };
  };

  /** Throttle check before a code is even looked at; false (page sent) while blocked. */
  const notThrottled = async (req: Request, res: Response, page: PageContext, login: string, render: (status: number, error: string) => Promise<void>): Promise<boolean> => {
    try {
      await throttle.check(login, ipOf(req));
      return true;
    } catch (error) {
      if (!(error instanceof LoginThrottledError)) throw error;
      signIns.inc({ outcome: 'throttled' });
      const until = new Date(clock.now() + error.retryAfterSeconds * 1000).toISOString().slice(11, 16);
      res.set('Retry-After', String(error.retryAfterSeconds));
      await render(429, translate(page.lang, 'login.throttled', { minutes: Math.ceil(error.retryAfterSeconds / 60), time: until }));
      return false;
    }
  };

  const failed = async (req: Request, pending: PendingLogin) => {
    signIns.inc({ outcome: 'failure' });
    await throttle.failure(pending.login, ipOf(req));
  };

  // ---- after the password ----------------------------------------------------------------------

  const afterPassword = async (req: Request, res: Response, uid: string, params: Record<string, unknown>, account: Account, login: string): Promise<boolean> => {
    const record = await factors.get(account.id);
    const required = await deps.required(account.id);
    if (!hasSecondFactor(record) && !required && !wantsSecondFactor(params)) return false;
    await savePending(uid, { accountId: account.id, login, required });
    res.redirect(303, `/interaction/${uid}/${hasSecondFactor(record) ? 'second-factor' : 'enrol'}`);
    return true;
  };

  // ---- the code or passkey step ----------------------------------------------------------------

  const renderSecondFactor = async (res: Response, page: PageContext, uid: string, pending: PendingLogin, status: number, error?: string) => {
    const record = await factors.get(pending.accountId);
    let passkeyOptions: unknown;
    if (record && record.passkeys.length > 0) {
      const options = await authenticationOptions(rp, record.passkeys);
      pending.challenge = options.challenge;
      await savePending(uid, pending);
      passkeyOptions = options;
    }
    sendPage(res, status, secondFactorPage(page, {
      action: `/interaction/${uid}/second-factor`,
      csrf: tools.csrf(uid),
      totp: Boolean(record?.totp),
      recovery: (record?.recoveryCodes?.hashes.length ?? 0) > 0,
      passkeyOptions,
      error,
    }));
  };

  router.get('/interaction/:uid/second-factor', tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: false, pending: true });
    if (!step) return;
    await renderSecondFactor(res, page, step.details.uid, step.pending, 200);
  }));

  router.post('/interaction/:uid/second-factor', form, tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: true, pending: true });
    if (!step) return;
    const { details, body, pending } = step;
    const uid = details.uid;
    const again = (status: number, error: string) => renderSecondFactor(res, page, uid, pending, status, error);
    if (!(await notThrottled(req, res, page, pending.login, again))) return;
    const method = body.method;
    const code = typeof body.code === 'string' ? body.code : '';
    let amr: string[] | undefined;
    if (method === 'otp' && code) {
      if (await factors.verifyTotp(pending.accountId, code)) amr = ['pwd', 'otp'];
    } else if (method === 'recovery' && code) {
      // A recovery code is a one-time password (RFC 8176 `otp`).
      if (await factors.useRecoveryCode(pending.accountId, code)) amr = ['pwd', 'otp'];
    } else if (method === 'passkey') {
      const response = parseCredential<AuthenticationResponseJSON>(body.credential);
      const record = await factors.get(pending.accountId);
      const passkey = record?.passkeys.find((p) => p.id === response?.id);
      const challenge = pending.challenge;
      if (response && passkey && challenge) {
        // The challenge is used once, whatever the outcome.
        delete pending.challenge;
        await savePending(uid, pending);
        const counter = await verifyAuthentication(rp, response, challenge, passkey, { requireUserVerification: false });
        if (counter !== undefined) {
          await factors.passkeyUsed(pending.accountId, passkey.id, counter);
          amr = ['pwd', 'hwk'];
        }
      }
    }
    if (!amr) {
      await failed(req, pending);
      logger.info({ interaction: uid, method }, 'second factor refused');
      return again(401, tf(page.lang, method === 'passkey' ? 'factor.passkeyFailed' : 'factor.failed'));
    }
    await finish(req, res, uid, pending.accountId, amr, pending.login);
  }));

  // ---- enrolment during sign-in ----------------------------------------------------------------

  const renderEnrolment = async (res: Response, page: PageContext, uid: string, pending: PendingLogin, status: number, error?: string) => {
    const account = await tools.directory.getAccount(pending.accountId);
    if (!account) throw new Error('account vanished during sign-in');
    if (!pending.totpSecret) pending.totpSecret = box.seal(newTotpSecret());
    const secret = box.open(pending.totpSecret);
    const record = await factors.get(pending.accountId);
    const passkeyOptions = await registrationOptions(rp, account, record?.passkeys ?? []);
    pending.challenge = passkeyOptions.challenge;
    await savePending(uid, pending);
    const qrSvg = await QRCode.toString(otpauthUri({ issuer: rp.name, account: account.username, secret }), { type: 'svg', margin: 1, width: 200 });
    sendPage(res, status, enrolmentPage(page, { action: `/interaction/${uid}/enrol`, csrf: tools.csrf(uid), required: pending.required, qrSvg, secret: formatSecret(secret), passkeyOptions, error }));
  };

  router.get('/interaction/:uid/enrol', tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: false, pending: true });
    if (!step) return;
    await renderEnrolment(res, page, step.details.uid, step.pending, 200);
  }));

  router.post('/interaction/:uid/enrol', form, tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: true, pending: true });
    if (!step) return;
    const { details, body, pending } = step;
    const uid = details.uid;
    const again = (status: number, error: string) => renderEnrolment(res, page, uid, pending, status, error);
    // Enrolment is only for accounts without a factor: one with a factor proves it first.
    if (await factors.hasSecondFactor(pending.accountId)) {
      res.redirect(303, `/interaction/${uid}/second-factor`);
      return;
    }
    if (!(await notThrottled(req, res, page, pending.login, again))) return;
    let recoveryCodes: string[] | undefined;
    if (body.method === 'otp' && pending.totpSecret) {
      const result = await factors.enrolTotp(pending.accountId, box.open(pending.totpSecret), typeof body.code === 'string' ? body.code : '');
      if (result.ok) {
        pending.enrolled = 'otp';
        recoveryCodes = result.recoveryCodes ?? [];
      }
    } else if (body.method === 'passkey' && pending.challenge) {
      const response = parseCredential<RegistrationResponseJSON>(body.credential);
      const challenge = pending.challenge;
      delete pending.challenge;
      const name = typeof body.name === 'string' && body.name.trim() ? body.name.trim().slice(0, 60) : tf(page.lang, 'enrol.passkeyDefaultName');
      const passkey = response ? await verifyRegistration(rp, response, challenge, name, clock.now()) : undefined;
      if (passkey) {
        const added = await factors.addPasskey(pending.accountId, passkey);
        pending.enrolled = 'hwk';
        recoveryCodes = added.recoveryCodes ?? [];
      }
    }
    if (!pending.enrolled) {
      await failed(req, pending);
      return again(401, tf(page.lang, body.method === 'passkey' ? 'factor.passkeyFailed' : 'factor.failed'));
    }
    delete pending.totpSecret;
    await savePending(uid, pending);
    logger.info({ accountId: pending.accountId, factor: pending.enrolled }, 'second factor enrolled at sign-in');
    sendPage(res, 200, recoveryCodesPage(page, { action: `/interaction/${uid}/enrol/done`, csrf: tools.csrf(uid), codes: recoveryCodes ?? [] }));
  }));

  router.post('/interaction/:uid/enrol/done', form, tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: true, pending: true });
    if (!step) return;
    const { details, pending } = step;
    if (!pending.enrolled) {
      res.redirect(303, `/interaction/${details.uid}/enrol`);
      return;
    }
    await finish(req, res, details.uid, pending.accountId, ['pwd', pending.enrolled], pending.login);
  }));

  // ---- passkey instead of a password -----------------------------------------------------------

  const renderPasskeyLogin = async (res: Response, page: PageContext, uid: string, status: number, error?: string) => {
    const options = await authenticationOptions(rp);
    await kv.set(`${pendingKey(uid)}:passkey`, options.challenge, PENDING_TTL_SECONDS);
    sendPage(res, status, passkeyLoginPage(page, { action: `/interaction/${uid}/passkey`, csrf: tools.csrf(uid), options, back: `/interaction/${uid}`, error }));
  };

  router.get('/interaction/:uid/passkey', tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: false, pending: false });
    if (!step) return;
    await renderPasskeyLogin(res, page, step.details.uid, 200);
  }));

  router.post('/interaction/:uid/passkey', form, tools.route(async (req, res, page) => {
    const step = await loginStep(req, res, page, { post: true, pending: false });
    if (!step) return;
    const uid = step.details.uid;
    const response = parseCredential<AuthenticationResponseJSON>(step.body.credential);
    const challenge = await kv.take(`${pendingKey(uid)}:passkey`);
    const owner = response ? await factors.passkeyOwner(response.id) : undefined;
    const login = owner ? owner.accountId : `passkey:${ipOf(req)}`;
    const again = (status: number, error: string) => renderPasskeyLogin(res, page, uid, status, error);
    if (!(await notThrottled(req, res, page, login, again))) return;
    const account = owner ? await tools.directory.getAccount(owner.accountId) : undefined;
    let counter: number | undefined;
    if (response && challenge && owner && owner.passwordless && account?.status === 'active') {
      // Without a password the passkey must also have verified the person (PIN, biometrics).
      counter = await verifyAuthentication(rp, response, challenge, owner.passkey, { requireUserVerification: true });
    }
    if (counter === undefined || !owner) {
      signIns.inc({ outcome: 'failure' });
      await throttle.failure(login, ipOf(req));
      return again(401, tf(page.lang, 'passkey.failed'));
    }
    await factors.passkeyUsed(owner.accountId, owner.passkey.id, counter);
    await finish(req, res, uid, owner.accountId, ['hwk'], login);
  }));

  return { router, afterPassword };
}

/** The WebAuthn page script, served as a static file. */
export function webauthnScriptRoute(): Router {
  const router = express.Router();
  router.get(WEBAUTHN_SCRIPT_PATH, (_req, res) => {
    res.set({ 'Cache-Control': 'public, max-age=3600', 'X-Content-Type-Options': 'nosniff' }).type('application/javascript').send(WEBAUTHN_SCRIPT);
  });
  return router;
}
