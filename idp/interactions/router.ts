/**
 * The interaction pages (login, consent) as express routes in front of oidc-provider. Each form
 * carries a CSRF token bound to the interaction (HMAC of its uid under the cookie key), and the
 * interaction itself is bound to the browser that started it by oidc-provider's signed cookie.
 */
import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { createHmac } from 'node:crypto';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import type { Logger } from 'pino';
import type { Directory } from '../../directory/types.ts';
import { secretsEqual } from '../../kernel/ids.ts';
import type { Clock } from '../../kernel/clock.ts';
import type { ClientRegistry } from '../provider/clients.ts';
import { scopeOfClaim } from '../provider/claims.ts';
import { LoginThrottledError, type LoginThrottle } from '../regulation/login-throttle.ts';
import { translate } from '../i18n/index.ts';
import { languageOf, sendPage as send } from '../page-response.ts';
import { ASSET_PATH, STYLESHEET, loginPage, consentPage, errorPage, type PageContext } from './pages.ts';
import { isUnavailable } from '../provider/unavailable.ts';
import { signIns } from '../metrics.ts';
import { secondFactorRouter, webauthnScriptRoute, ACR_1FA, type SecondFactorDeps } from './second-factor.ts';
import { tf } from '../factors/i18n.ts';
import { html } from './template.ts';

export interface InteractionDeps {
  /** The current provider (it is replaced when keys rotate). */
  provider: () => Provider;
  directory: Directory;
  throttle: LoginThrottle;
  /** The cookie keys; the first signs CSRF tokens, all verify. */
  cookieKeys: () => string[];
  clients: ClientRegistry;
  clock: Clock;
  logger: Logger;
  /** Second factors (TOTP, passkeys, recovery codes); without it sign-in is password only. */
  secondFactor?: SecondFactorDeps;
}

/** HMAC of the interaction uid: a form token an attacker cannot make for someone else's interaction. */
export function csrfToken(key: string, uid: string): string {
  return createHmac('sha256', key).update(`porta-csrf:${uid}`).digest('base64url');
}

function csrfValid(keys: string[], uid: string, token: unknown): boolean {
  if (typeof token !== 'string' || token.length === 0) return false;
  // Check every key (rotation) without stopping early.
  return keys.map((key) => secretsEqual(csrfToken(key, uid), token)).includes(true);
}

type Handler = (req: Request, res: Response, page: PageContext) => Promise<void>;

export function interactionRouter(deps: InteractionDeps): Router {
  const router = express.Router();
  const { logger } = deps;
  const form = express.urlencoded({ extended: false, limit: '16kb' });

  const clientName = async (clientId: unknown): Promise<string> => {
    if (typeof clientId !== 'string') return '';
    const client = await deps.provider().Client.find(clientId);
    return client?.clientName ?? clientId;
  };

  /** Runs a handler with one mapping from failures to pages. */
  const route = (handler: Handler) => async (req: Request, res: Response, next: NextFunction) => {
    // The language switcher of a page answering a POST links to the interaction's GET page.
    const url = req.method === 'GET' ? req.originalUrl : `/interaction/${String(req.params.uid)}`;
    const page: PageContext = { lang: languageOf(req, res), url };
    try {
      await handler(req, res, page);
    } catch (error) {
      if (res.headersSent) return next(error);
      if (error instanceof errors.SessionNotFound) {
        send(res, 400, errorPage(page, { message: translate(page.lang, 'error.session'), code: 'invalid_interaction' }));
      } else if (isUnavailable(error)) {
        logger.warn({ err: error }, 'directory unavailable during sign-in');
        res.set('Retry-After', '30');
        send(res, 503, errorPage(page, { message: translate(page.lang, 'error.directory') }));
      } else {
        logger.error({ err: error }, 'interaction failed');
        send(res, 500, errorPage(page, { message: translate(page.lang, 'error.generic'), code: 'server_error' }));
      }
    }
  };

  router.get(ASSET_PATH, (_req, res) => {
    res.set('Cache-Control', 'public, max-age=3600').type('css').send(STYLESHEET);
  });

  const secondFactor = deps.secondFactor
    ? secondFactorRouter(deps.secondFactor, {
        provider: deps.provider,
        directory: deps.directory,
        throttle: deps.throttle,
        clock: deps.clock,
        logger,
        route,
        csrf: (uid) => csrfToken(deps.cookieKeys()[0] ?? '', uid),
        csrfValid: (uid, token) => csrfValid(deps.cookieKeys(), uid, token),
      })
    : undefined;
  if (secondFactor) {
    router.use(webauthnScriptRoute());
    router.use(secondFactor.router);
  }
  /** The login page with a link to passkey sign-in (when second factors are on). */
  const withPasskeyLink = (page: PageContext, uid: string, body: string): string =>
    secondFactor ? body.replace('</main>', `${html`<p class="passkey-link"><a href="/interaction/${uid}/passkey">${tf(page.lang, 'passkey.link')}</a></p>`.value}\n</main>`) : body;

  router.get('/interaction/:uid', route(async (req, res, page) => {
    const details = await deps.provider().interactionDetails(req, res);
    const key = deps.cookieKeys()[0] ?? '';
    const client = await clientName(details.params.client_id);
    if (details.prompt.name === 'login') {
      const hint = typeof details.params.login_hint === 'string' ? details.params.login_hint : undefined;
      send(res, 200, withPasskeyLink(page, details.uid, loginPage(page, { action: `/interaction/${details.uid}/login`, csrf: csrfToken(key, details.uid), client, login: hint })));
      return;
    }
    if (details.prompt.name === 'consent') {
      const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
      const scopes = new Set<string>(promptDetails.missingOIDCScope ?? []);
      for (const list of Object.values(promptDetails.missingResourceScopes ?? {})) for (const s of list) scopes.add(s);
      // Claims asked for with the `claims` parameter (Nextcloud) are shown by what they reveal.
      for (const claim of promptDetails.missingOIDCClaims ?? []) scopes.add(scopeOfClaim(claim) ?? claim);
      send(res, 200, consentPage(page, {
        action: `/interaction/${details.uid}/confirm`,
        abort: `/interaction/${details.uid}/abort`,
        csrf: csrfToken(key, details.uid),
        client,
        scopes: [...scopes],
      }));
      return;
    }
    send(res, 400, errorPage(page, { message: translate(page.lang, 'error.generic'), code: 'unknown_prompt' }));
  }));

  router.post('/interaction/:uid/login', form, route(async (req, res, page) => {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (details.prompt.name !== 'login' || !csrfValid(deps.cookieKeys(), details.uid, body.csrf)) {
      send(res, 403, errorPage(page, { message: translate(page.lang, 'error.csrf'), code: 'invalid_csrf' }));
      return;
    }
    const client = await clientName(details.params.client_id);
    const login = typeof body.login === 'string' ? body.login.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const again = (status: number, error: string) =>
      send(res, status, withPasskeyLink(page, details.uid, loginPage(page, { action: `/interaction/${details.uid}/login`, csrf: csrfToken(deps.cookieKeys()[0] ?? '', details.uid), client, login, error })));
    if (!login || !password) return again(400, translate(page.lang, 'login.missing'));

    const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
    try {
      await deps.throttle.check(login, ip);
    } catch (error) {
      if (!(error instanceof LoginThrottledError)) throw error;
      signIns.inc({ outcome: 'throttled' });
      const until = new Date(deps.clock.now() + error.retryAfterSeconds * 1000).toISOString().slice(11, 16);
      res.set('Retry-After', String(error.retryAfterSeconds));
      return again(429, translate(page.lang, 'login.throttled', { minutes: Math.ceil(error.retryAfterSeconds / 60), time: until }));
    }

    const account = await deps.directory.authenticate(login, password).catch((error: unknown) => {
      if (isUnavailable(error)) signIns.inc({ outcome: 'unavailable' });
      throw error;
    });
    if (!account) {
      signIns.inc({ outcome: 'failure' });
      await deps.throttle.failure(login, ip);
      logger.info({ interaction: details.uid }, 'sign-in failed');
      return again(401, translate(page.lang, 'login.failed'));
    }
    // An account with a second factor (or one that must enrol) goes on to that step; the throttle
    // is cleared only when the whole sign-in succeeds.
    if (secondFactor && (await secondFactor.afterPassword(req, res, details.uid, details.params, account, login))) return;
    signIns.inc({ outcome: 'success' });
    await deps.throttle.success(login, ip);
    logger.info({ accountId: account.id }, 'signed in');
    await provider.interactionFinished(req, res, {
      login: { accountId: account.id, amr: ['pwd'], ...(secondFactor ? { acr: ACR_1FA } : {}), ts: Math.floor(deps.clock.now() / 1000) },
    }, { mergeWithLastSubmission: false });
  }));

  router.post('/interaction/:uid/confirm', form, route(async (req, res, page) => {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (details.prompt.name !== 'consent' || !csrfValid(deps.cookieKeys(), details.uid, body.csrf)) {
      send(res, 403, errorPage(page, { message: translate(page.lang, 'error.csrf'), code: 'invalid_csrf' }));
      return;
    }
    const accountId = details.session?.accountId;
    const clientId = details.params.client_id;
    if (!accountId || typeof clientId !== 'string') throw new errors.SessionNotFound('interaction without a signed-in account');
    const grant = (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ?? new provider.Grant({ accountId, clientId });
    const promptDetails = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
    if (promptDetails.missingOIDCScope) grant.addOIDCScope(promptDetails.missingOIDCScope.join(' '));
    if (promptDetails.missingOIDCClaims) grant.addOIDCClaims(promptDetails.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(promptDetails.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: details.grantId ? {} : { grantId } }, { mergeWithLastSubmission: true });
  }));

  router.post('/interaction/:uid/abort', form, route(async (req, res, page) => {
    const provider = deps.provider();
    const details = await provider.interactionDetails(req, res);
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (!csrfValid(deps.cookieKeys(), details.uid, body.csrf)) {
      send(res, 403, errorPage(page, { message: translate(page.lang, 'error.csrf'), code: 'invalid_csrf' }));
      return;
    }
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'The person declined the request.' }, { mergeWithLastSubmission: false });
  }));

  return router;
}
