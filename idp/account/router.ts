/**
 * The account pages as an express router, mounted on the IdP listener before oidc-provider:
 *   /account/register          self-registration (open / invitation / closed)
 *   /account/verify-email      GET shows a button (mail scanners open links), POST uses the token
 *   /account/forgot-password   same answer whether the account exists or not; rate-limited
 *   /account/reset-password    GET form, POST token + new password twice
 *   /invitation                join a collective: create an account or sign in with one
 * The links in Porta's mails point here (directory/accounts/links.ts).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import type { Clock } from '../../kernel/clock.ts';
import { AppError } from '../../kernel/errors.ts';
import type { AccountFlows, RegistrationMode } from '../../directory/accounts/account-flows.ts';
import type { Directory } from '../../directory/types.ts';
import { translate, type MessageKey } from '../i18n/index.ts';
import { languageOf, sendPage as send } from '../page-response.ts';
import { errorPage, type PageContext } from '../interactions/pages.ts';
import { isUnavailable } from '../provider/unavailable.ts';
import { LoginThrottledError, type LimiterFactory, type ThrottleSettings } from '../regulation/login-throttle.ts';
import { formToken, formTokenValid } from './csrf.ts';
import { fieldErrorsOf, validateFields } from './form-errors.ts';
import {
  DEFAULT_RETURN,
  forgotPasswordPage,
  invitationPage,
  messagePage,
  registerPage,
  resetPasswordPage,
  verifyEmailPage,
  type FieldErrors,
  type FormBase,
  type InvitationView,
} from './pages.ts';
import { AccountThrottledError, DEFAULT_ACCOUNT_LIMITS, createAccountThrottle, memoryLimiters, type AccountLimits, type AccountThrottle } from './throttle.ts';

export interface AccountPagesDeps {
  flows: AccountFlows;
  directory: Directory;
  /** Default: the flows' own mode (config `directory.registration`). A read-only directory is always closed. */
  registration?: RegistrationMode;
  /** Public URL of the IdP: forms are accepted only from its origin. */
  issuer: string;
  logger: Logger;
  clock: Clock;
  /** Ready-made limits; otherwise built from `limiters` (the shared store) or, without them, in memory. */
  throttle?: AccountThrottle;
  limiters?: LimiterFactory;
  /** The login form's throttle settings (config `idp.loginThrottle`), shared by the invitation sign-in. */
  loginThrottle?: ThrottleSettings;
  limits?: Partial<AccountLimits>;
}

const DEFAULT_LOGIN_THROTTLE: ThrottleSettings = { consecutiveFailures: 5, blockSeconds: 900, failuresPerIpPerDay: 100 };

/** Refusals of the flows that deserve a page of their own, in the person's language. */
const PAGE_MESSAGES: Record<string, MessageKey> = {
  link_invalid: 'account.error.link',
  invitation_invalid: 'account.error.invitation',
  registration_closed: 'account.register.closed',
  invitation_required: 'account.register.invitationOnly',
  directory_read_only: 'account.error.readOnly',
  mail_unavailable: 'account.error.mail',
};

/** Only a path on this site (never `//host` or `/\host`, which browsers treat as another site). */
export function safeReturn(value: unknown): string {
  if (typeof value !== 'string' || value.length > 512) return DEFAULT_RETURN;
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /\p{Cc}/u.test(value)) return DEFAULT_RETURN;
  return value;
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function ipOf(req: Request): string {
  return req.ip ?? req.socket.remoteAddress ?? 'unknown';
}

/** The GET address of a page answering a POST (for the language switcher). */
function getUrlOf(req: Request, body: Record<string, unknown>): string {
  const params = new URLSearchParams();
  if (str(body.token)) params.set('token', str(body.token));
  if (str(body.return) && safeReturn(body.return) !== DEFAULT_RETURN) params.set('return', str(body.return));
  const query = params.toString();
  return query ? `${req.path}?${query}` : req.path;
}

type Handler = (req: Request, res: Response, page: PageContext, body: Record<string, unknown>) => Promise<void>;

export function accountPagesRouter(deps: AccountPagesDeps): Router {
  const router = express.Router();
  const { flows, directory, logger } = deps;
  const issuerOrigin = new URL(deps.issuer).origin;
  const throttle =
    deps.throttle ?? createAccountThrottle(deps.limiters ?? memoryLimiters, { ...DEFAULT_ACCOUNT_LIMITS, ...deps.limits }, deps.loginThrottle ?? DEFAULT_LOGIN_THROTTLE);
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 20 });
  const mode = (): RegistrationMode => (directory.readOnly ? 'closed' : (deps.registration ?? flows.registrationMode));
  const t = (page: PageContext, key: MessageKey, vars?: Record<string, string | number>) => translate(page.lang, key, vars);

  /** One mapping from failures to pages; POSTs without the form token stop here with 403. */
  const route = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    const body = (req.method === 'POST' ? (req.body ?? {}) : {}) as Record<string, unknown>;
    const page: PageContext = { lang: languageOf(req, res), url: req.method === 'GET' ? req.originalUrl : getUrlOf(req, body) };
    try {
      if (req.method === 'POST' && !formTokenValid(req, issuerOrigin, body.csrf)) {
        send(res, 403, errorPage(page, { message: t(page, 'error.csrf'), code: 'invalid_csrf' }));
        return;
      }
      await handler(req, res, page, body);
    } catch (error) {
      if (res.headersSent) return next(error);
      if (error instanceof AccountThrottledError || error instanceof LoginThrottledError) {
        res.set('Retry-After', String(error.retryAfterSeconds));
        send(res, 429, messagePage(page, { title: 'error.title', alert: true, message: t(page, 'account.error.throttled', { minutes: Math.ceil(error.retryAfterSeconds / 60) }) }));
      } else if (isUnavailable(error)) {
        logger.warn({ err: error }, 'account page: a dependency is unavailable');
        res.set('Retry-After', '30');
        const key = error instanceof AppError && error.code === 'mail_unavailable' ? 'account.error.mail' : 'error.directory';
        send(res, 503, messagePage(page, { title: 'error.title', alert: true, message: t(page, key) }));
      } else if (error instanceof AppError && error.status < 500) {
        const key = PAGE_MESSAGES[error.code];
        send(res, error.status, messagePage(page, { title: 'error.title', alert: true, message: key ? t(page, key) : error.message }));
      } else {
        logger.error({ err: error }, 'account page failed');
        send(res, 500, errorPage(page, { message: t(page, 'error.generic'), code: 'server_error' }));
      }
    }
  };

  const base = (req: Request, res: Response, returnTo: unknown): FormBase => ({ csrf: formToken(req, res), returnTo: safeReturn(returnTo) });

  // --- registration -------------------------------------------------------------------------------

  /** The page for a mode that does not take the form, or undefined when registration is open. */
  const notOpen = (page: PageContext): { status: number; body: string } | undefined => {
    const current = mode();
    if (current === 'open') return undefined;
    const key = directory.readOnly ? 'account.error.readOnly' : current === 'closed' ? 'account.register.closed' : 'account.register.invitationOnly';
    return { status: 403, body: messagePage(page, { title: 'account.register.title', message: t(page, key) }) };
  };

  router.get('/account/register', route(async (req, res, page) => {
    const token = str(req.query.token);
    if (token) {
      // An invitation is accepted on its own page, in every mode.
      const target = new URLSearchParams({ token });
      if (req.query.return) target.set('return', safeReturn(req.query.return));
      res.redirect(303, `/invitation?${target.toString()}`);
      return;
    }
    const refused = notOpen(page);
    if (refused) return send(res, refused.status, refused.body);
    send(res, 200, registerPage(page, base(req, res, req.query.return), {}));
  }));

  router.post('/account/register', form, route(async (req, res, page, body) => {
    const refused = notOpen(page);
    if (refused) return send(res, refused.status, refused.body);
    const values = { username: str(body.username), email: str(body.email), name: str(body.name), password: str(body.password), password2: str(body.password2) };
    const formBase = base(req, res, body.return);
    const again = (status: number, errors: FieldErrors) =>
      send(res, status, registerPage(page, formBase, { username: values.username, email: values.email, name: values.name }, errors));
    const errors = validateFields(page.lang, values, ['username', 'email', 'name', 'password', 'password2']);
    if (Object.keys(errors).length > 0) return again(400, errors);
    await throttle.registration(ipOf(req));
    try {
      const account = await flows.register({ username: values.username, email: values.email, name: values.name, password: values.password });
      logger.info({ accountId: account.id }, 'account registered');
      send(res, 201, messagePage(page, {
        title: 'account.register.done.title',
        message: t(page, 'account.register.done', { username: account.username, email: account.email }),
        continueTo: formBase.returnTo,
      }));
    } catch (error) {
      const fieldErrors = fieldErrorsOf(page.lang, error);
      if (!fieldErrors) throw error;
      again((error as AppError).status, fieldErrors);
    }
  }));

  // --- email verification -------------------------------------------------------------------------

  const linkMissing = (res: Response, page: PageContext) =>
    send(res, 400, messagePage(page, { title: 'error.title', alert: true, message: t(page, 'account.error.linkMissing') }));

  router.get('/account/verify-email', route(async (req, res, page) => {
    const token = str(req.query.token);
    if (!token) return linkMissing(res, page);
    send(res, 200, verifyEmailPage(page, base(req, res, req.query.return), token));
  }));

  router.post('/account/verify-email', form, route(async (req, res, page, body) => {
    const token = str(body.token);
    if (!token) return linkMissing(res, page);
    const account = await flows.verifyEmail(token);
    logger.info({ accountId: account.id }, 'email verified');
    send(res, 200, messagePage(page, { title: 'account.verify.title', message: t(page, 'account.verify.done', { email: account.email }), continueTo: safeReturn(body.return) }));
  }));

  // --- forgotten password -------------------------------------------------------------------------

  router.get('/account/forgot-password', route(async (req, res, page) => {
    send(res, 200, forgotPasswordPage(page, base(req, res, req.query.return), ''));
  }));

  router.post('/account/forgot-password', form, route(async (req, res, page, body) => {
    const login = str(body.login).trim();
    const formBase = base(req, res, body.return);
    if (!login) return send(res, 400, forgotPasswordPage(page, formBase, '', { login: t(page, 'account.error.required') }));
    await throttle.resetRequest(ipOf(req), login);
    try {
      await flows.requestPasswordReset(login);
    } catch (error) {
      // A mail server that is down must not tell who has an account (it fails only for real ones).
      if (!(error instanceof AppError && error.code === 'mail_unavailable')) throw error;
      logger.warn({ err: error }, 'password reset mail could not be sent');
    }
    send(res, 200, messagePage(page, { title: 'account.forgot.sent.title', message: t(page, 'account.forgot.sent', { login }), continueTo: formBase.returnTo }));
  }));

  router.get('/account/reset-password', route(async (req, res, page) => {
    const token = str(req.query.token);
    if (!token) return linkMissing(res, page);
    send(res, 200, resetPasswordPage(page, base(req, res, req.query.return), token));
  }));

  router.post('/account/reset-password', form, route(async (req, res, page, body) => {
    const token = str(body.token);
    if (!token) return linkMissing(res, page);
    const formBase = base(req, res, body.return);
    const values = { password: str(body.password), password2: str(body.password2) };
    const errors = validateFields(page.lang, values, ['password', 'password2']);
    if (Object.keys(errors).length > 0) return send(res, 400, resetPasswordPage(page, formBase, token, errors));
    try {
      const account = await flows.resetPassword(token, values.password);
      logger.info({ accountId: account.id }, 'password reset');
    } catch (error) {
      const fieldErrors = fieldErrorsOf(page.lang, error);
      if (!fieldErrors) throw error;
      return send(res, 400, resetPasswordPage(page, formBase, token, fieldErrors));
    }
    send(res, 200, messagePage(page, { title: 'account.reset.title', message: t(page, 'account.reset.done'), continueTo: formBase.returnTo }));
  }));

  // --- invitations --------------------------------------------------------------------------------

  /** What the invitation is for and who sent it; undefined when the link is used, withdrawn or expired. */
  const describe = async (token: string) => {
    const found = await flows.invitations.describe(token);
    if (!found) return undefined;
    // The pending invitation to this address (the newest, if a manager sent several) names the inviter.
    const pending = (await flows.invitations.list(found.collectiveId)).filter((i) => i.email === found.email).sort((a, b) => b.createdAt - a.createdAt)[0];
    const inviter = pending ? await directory.getAccount(pending.invitedBy) : undefined;
    return { ...found, inviter: inviter?.name };
  };

  const invitationGone = (res: Response, page: PageContext) =>
    send(res, 410, messagePage(page, { title: 'account.invitation.title', alert: true, message: t(page, 'account.error.invitation') }));

  const view = (token: string, found: NonNullable<Awaited<ReturnType<typeof describe>>>, extra: Partial<InvitationView> = {}): InvitationView => ({
    token,
    collective: found.collectiveName,
    email: found.email,
    inviter: found.inviter,
    mayCreate: mode() !== 'closed',
    values: {},
    createErrors: {},
    ...extra,
  });

  router.get('/invitation', route(async (req, res, page) => {
    const token = str(req.query.token);
    if (!token) return linkMissing(res, page);
    const found = await describe(token);
    if (!found) return invitationGone(res, page);
    send(res, 200, invitationPage(page, base(req, res, req.query.return), view(token, found)));
  }));

  router.post('/invitation', form, route(async (req, res, page, body) => {
    const token = str(body.token);
    if (!token) return linkMissing(res, page);
    const found = await describe(token);
    if (!found) return invitationGone(res, page);
    const formBase = base(req, res, body.return);
    const joined = (username: string) =>
      send(res, 200, messagePage(page, { title: 'account.invitation.title', message: t(page, 'account.invitation.done', { collective: found.collectiveName, username }), continueTo: formBase.returnTo }));

    if (str(body.action) === 'signin') {
      const login = str(body.login).trim();
      const password = str(body.password);
      const again = (status: number, signinError: string) => send(res, status, invitationPage(page, formBase, view(token, found, { values: { login }, signinError })));
      if (!login || !password) return again(400, t(page, 'login.missing'));
      // The same brute-force throttle as the login form: this form checks passwords too.
      const loginThrottle = await throttle.login();
      const ip = ipOf(req);
      await loginThrottle.check(login, ip);
      const account = await directory.authenticate(login, password);
      if (!account) {
        await loginThrottle.failure(login, ip);
        return again(401, t(page, 'login.failed'));
      }
      await loginThrottle.success(login, ip);
      await flows.invitations.accept(token, { accountId: account.id });
      logger.info({ accountId: account.id, collectiveId: found.collectiveId }, 'invitation accepted by an existing account');
      return joined(account.username);
    }

    const values = { username: str(body.username), name: str(body.name), password: str(body.password), password2: str(body.password2) };
    const again = (status: number, extra: Partial<InvitationView>) =>
      send(res, status, invitationPage(page, formBase, view(token, found, { values: { username: values.username, name: values.name }, ...extra })));
    const errors = validateFields(page.lang, values, ['username', 'name', 'password', 'password2']);
    if (Object.keys(errors).length > 0) return again(400, { createErrors: errors });
    try {
      const account = await flows.register({ username: values.username, email: found.email, name: values.name, password: values.password }, { invitationToken: token });
      logger.info({ accountId: account.id, collectiveId: found.collectiveId }, 'invitation accepted with a new account');
      joined(account.username);
    } catch (error) {
      if (error instanceof AppError && error.code === 'account_exists') return again(409, { signinError: t(page, 'account.invitation.exists') });
      const fieldErrors = fieldErrorsOf(page.lang, error);
      if (!fieldErrors) throw error;
      again((error as AppError).status, { createErrors: fieldErrors });
    }
  }));

  return router;
}
