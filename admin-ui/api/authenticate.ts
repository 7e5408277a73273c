/**
 * Authenticates admin API requests: a Bearer access token (issued by Porta's IdP for the resource
 * `porta-admin`) verified by the injected `verifyAccessToken`, then the caller resolved from the
 * directory on every request, so a suspension, removal or demotion counts at once.
 * Sets `res.locals.caller`.
 */
import type { RequestHandler } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { Caller } from '../../kernel/caller.ts';
import type { Logger } from '../../kernel/logger.ts';
import { silentLogger } from '../../kernel/logger.ts';
import type { Directory } from '../../directory/types.ts';

export type VerifyAccessToken = (token: string) => Promise<{ sub: string; amr?: string[] }>;

const REALM = 'Bearer realm="porta"';

function challenge(error?: 'invalid_token' | 'invalid_request', description?: string): string {
  return error ? `${REALM}, error="${error}"${description ? `, error_description="${description}"` : ''}` : REALM;
}

export async function resolveCaller(directory: Directory, sub: string, amr: string[] = []): Promise<Caller | undefined> {
  const account = await directory.getAccount(sub);
  if (!account || account.status !== 'active') return undefined;
  const memberships = await directory.membershipsOf(account.id);
  return {
    accountId: account.id,
    username: account.username,
    platformAdmin: account.platformAdmin,
    managerOf: memberships.filter((m) => m.manager).map((m) => m.collectiveId),
    memberOf: memberships.map((m) => m.collectiveId),
    amr,
  };
}

export function authenticate(options: { verifyAccessToken: VerifyAccessToken; directory: Directory; logger?: Logger }): RequestHandler {
  const logger = options.logger ?? silentLogger;
  return async (req, res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? header.match(/^Bearer ([A-Za-z0-9\-._~+/]+=*)$/i) : null;
    if (!match) {
      res.setHeader('WWW-Authenticate', header ? challenge('invalid_request', 'use the Authorization: Bearer <token> header') : REALM);
      next(new AppError(401, 'unauthorized', 'Sign in first: send an access token as "Authorization: Bearer <token>".'));
      return;
    }
    let claims: { sub: string; amr?: string[] };
    try {
      claims = await options.verifyAccessToken(match[1]);
      if (typeof claims?.sub !== 'string' || !claims.sub) throw new Error('token has no sub');
    } catch (error) {
      // Fail closed; the reason goes to the log, never to the client.
      logger.info({ reason: error instanceof Error ? error.message : String(error) }, 'admin API token refused');
      res.setHeader('WWW-Authenticate', challenge('invalid_token', 'the access token is not valid'));
      next(new AppError(401, 'invalid_token', 'The access token is not valid or has expired; sign in again.'));
      return;
    }
    try {
      const caller = await resolveCaller(options.directory, claims.sub, Array.isArray(claims.amr) ? claims.amr : []);
      if (!caller) {
        res.setHeader('WWW-Authenticate', challenge('invalid_token', 'the account is suspended or gone'));
        next(new AppError(401, 'invalid_token', 'The account behind this token is suspended or no longer exists.'));
        return;
      }
      res.locals.caller = caller;
      next();
    } catch (error) {
      next(error);
    }
  };
}
