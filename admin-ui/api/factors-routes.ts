/**
 * Second factors in the admin API:
 *   GET    /me/factors                    the caller's own factors (never a secret)
 *   DELETE /me/factors/totp               remove the caller's authenticator app
 *   DELETE /me/factors/passkeys/{pid}     remove one of the caller's passkeys
 *   GET    /accounts/{id}/factors         a member's factors (platform admins)
 *   DELETE /accounts/{id}/factors         reset a member's factors (platform admins; audited)
 *
 * Managers may not reset anyone's factors, not even of their own collective's members: a reset
 * lowers an account to its password alone, and a manager who could do it could take over a
 * co-manager's account with a leaked password. The person asks a platform admin, who checks who
 * they are; the reset is audited (`account.factors.reset`) and announced like any directory change.
 * Setting factors up happens on the IdP's own pages (`/account/factors`), where the browser's
 * WebAuthn API and the QR code are.
 */
import { Router, type Response } from 'express';
import { AppError } from '../../kernel/errors.ts';
import type { OpenApiFragment } from '../../kernel/caller.ts';
import type { Broadcast } from '../../store/types.ts';
import type { Directory } from '../../directory/types.ts';
import type { AuditLog } from '../../directory/audit.ts';
import { accountNotFound } from '../../directory/errors.ts';
import type { FactorStore } from '../../idp/factors/factor-store.ts';
import { callerOf, requirePlatformAdmin } from './access.ts';
import { operation } from './openapi.ts';
import { DIRECTORY_CHANGES } from './directory-routes.ts';

export interface FactorRoutesDeps {
  factors: FactorStore;
  directory: Directory;
  audit: AuditLog;
  broadcast?: Broadcast;
  /** Where people set factors up (the IdP's account page). */
  enrolUrl: string;
}

export function factorRoutes(deps: FactorRoutesDeps): { router: Router; openapi: OpenApiFragment } {
  const { factors, directory, audit } = deps;
  const router = Router();
  const send = (res: Response, status: number, body: unknown) => res.status(status).json(body);

  router.get('/me/factors', async (_req, res) => {
    const caller = callerOf(res);
    send(res, 200, { ...(await factors.summary(caller.accountId)), enrolUrl: deps.enrolUrl });
  });

  router.delete('/me/factors/totp', async (_req, res) => {
    const caller = callerOf(res);
    if (!(await factors.removeTotp(caller.accountId))) throw new AppError(404, 'factor_not_found', 'You have no authenticator app set up.');
    res.status(204).end();
  });

  router.delete('/me/factors/passkeys/:pid', async (req, res) => {
    const caller = callerOf(res);
    if (!(await factors.removePasskey(caller.accountId, String(req.params.pid)))) throw new AppError(404, 'factor_not_found', 'You have no such passkey.');
    res.status(204).end();
  });

  router.get('/accounts/:id/factors', async (req, res) => {
    requirePlatformAdmin(callerOf(res));
    const account = await directory.getAccount(String(req.params.id));
    if (!account) throw accountNotFound();
    send(res, 200, await factors.summary(account.id));
  });

  router.delete('/accounts/:id/factors', async (req, res) => {
    const caller = callerOf(res);
    if (!caller.platformAdmin) throw new AppError(403, 'forbidden', 'Only platform admins can reset the second factors of an account.');
    const account = await directory.getAccount(String(req.params.id));
    if (!account) throw accountNotFound();
    const before = await factors.reset(account.id);
    await audit.record({
      actor: caller.accountId,
      action: 'account.factors.reset',
      target: { type: 'account', id: account.id },
      before: { totp: Boolean(before.totp), passkeys: before.passkeys.length, recoveryCodesLeft: before.recoveryCodesLeft },
      after: { totp: false, passkeys: 0, recoveryCodesLeft: 0 },
    });
    await deps.broadcast?.publish(DIRECTORY_CHANGES, JSON.stringify({ accountId: account.id })).catch(() => undefined);
    send(res, 200, await factors.summary(account.id));
  });

  const summary = {
    type: 'object',
    properties: {
      totp: { type: ['object', 'null'], properties: { createdAt: { type: 'integer' } } },
      recoveryCodesLeft: { type: 'integer' },
      passkeys: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, createdAt: { type: 'integer' }, lastUsedAt: { type: 'integer' } } } },
      passwordless: { type: 'boolean' },
      enrolUrl: { type: 'string', description: 'Only on /me/factors: the IdP page where factors are set up.' },
    },
  };
  const T = 'Second factors';
  const openapi: OpenApiFragment = {
    tags: [{ name: T, description: 'TOTP apps, passkeys and recovery codes (secrets are never returned).' }],
    components: { schemas: { FactorSummary: summary } },
    paths: {
      '/me/factors': { get: operation({ summary: 'My second factors', tag: T, ok: { description: 'Summary', schema: { $ref: '#/components/schemas/FactorSummary' } } }) },
      '/me/factors/totp': { delete: operation({ summary: 'Remove my authenticator app', tag: T, ok: { status: 204, description: 'Removed' } }) },
      '/me/factors/passkeys/{pid}': { delete: operation({ summary: 'Remove one of my passkeys', tag: T, ok: { status: 204, description: 'Removed' } }) },
      '/accounts/{id}/factors': {
        get: operation({ summary: "An account's second factors (platform admins)", tag: T, ok: { description: 'Summary', schema: { $ref: '#/components/schemas/FactorSummary' } } }),
        delete: operation({ summary: "Reset an account's second factors (platform admins; audited)", tag: T, ok: { description: 'The summary after the reset', schema: { $ref: '#/components/schemas/FactorSummary' } } }),
      },
    },
  };
  return { router, openapi };
}
