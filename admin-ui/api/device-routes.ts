/**
 * Device passwords of the caller, for sync clients (Nextcloud desktop and mobile, any WebDAV client)
 * that reach Oficina through the gateway (docs/limits.md, "Sync clients"):
 *   GET    /me/devices          the caller's devices (never a password)
 *   POST   /me/devices          { name } → the device and its password, shown this once
 *   DELETE /me/devices/{id}     revoke: every gateway process refuses it at once
 * Only the caller's own: nobody, not even a platform admin, can read or create another person's.
 */
import { Router } from 'express';
import { z } from 'zod';
import { AppError } from '../../kernel/errors.ts';
import type { OpenApiFragment } from '../../kernel/caller.ts';
import type { AuditLog } from '../../directory/audit.ts';
import type { DevicePasswords } from '../../gateway/enforcers/webdav/device-passwords.ts';
import { callerOf } from './access.ts';
import { operation } from './openapi.ts';
import { parseBody } from './validate.ts';
import { jsonSchema } from './schemas.ts';

export interface DeviceRoutesDeps {
  passwords: DevicePasswords;
  audit?: AuditLog;
  /** The username sync clients use (shown with a new password). Default: the account id. */
  usernameOf?: (accountId: string) => string;
}

const newDeviceSchema = z.object({ name: z.string().trim().min(1, 'give the device a name, such as "Laptop"').max(100, 'at most 100 characters') }).strict();

export function deviceRoutes(deps: DeviceRoutesDeps): { router: Router; openapi: OpenApiFragment } {
  const { passwords, audit } = deps;
  const router = Router();

  router.get('/me/devices', async (_req, res) => {
    res.json({ items: await passwords.list(callerOf(res).accountId) });
  });

  router.post('/me/devices', async (req, res) => {
    const caller = callerOf(res);
    const { name } = parseBody(newDeviceSchema, req);
    const { device, password } = await passwords.create(caller.accountId, name);
    await audit?.record({ actor: caller.accountId, action: 'account.device.create', target: { type: 'account', id: caller.accountId }, after: { deviceId: device.deviceId, name: device.name } });
    res.status(201).json({ device, username: deps.usernameOf?.(caller.accountId) ?? caller.accountId, password });
  });

  router.delete('/me/devices/:deviceId', async (req, res) => {
    const caller = callerOf(res);
    const deviceId = String(req.params.deviceId);
    if (!(await passwords.revoke(caller.accountId, deviceId))) throw new AppError(404, 'device_not_found', 'You have no device password with this id.');
    await audit?.record({ actor: caller.accountId, action: 'account.device.revoke', target: { type: 'account', id: caller.accountId }, before: { deviceId } });
    res.status(204).end();
  });

  const device = {
    type: 'object',
    required: ['deviceId', 'name', 'createdAt'],
    properties: {
      deviceId: { type: 'string' },
      subject: { type: 'string', description: 'The account id.' },
      name: { type: 'string' },
      createdAt: { type: 'integer', description: 'Milliseconds since 1970.' },
      lastUsedAt: { type: 'integer', description: 'Last sign-in with it (written at most once an hour).' },
    },
  };
  const T = 'Device passwords';
  const openapi: OpenApiFragment = {
    tags: [{ name: T, description: 'Per-device passwords for sync clients on Oficina (WebDAV). A password is shown only when it is created.' }],
    components: { schemas: { DevicePassword: device } },
    paths: {
      '/me/devices': {
        get: operation({ summary: 'My device passwords', tag: T, ok: { description: 'Devices', schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/DevicePassword' } } } } } }),
        post: operation({
          summary: 'Create a device password (shown once)',
          tag: T,
          body: jsonSchema(newDeviceSchema),
          ok: { status: 201, description: 'The device, the username and the password to type into the client', schema: { type: 'object', properties: { device: { $ref: '#/components/schemas/DevicePassword' }, username: { type: 'string' }, password: { type: 'string' } } } },
        }),
      },
      '/me/devices/{deviceId}': { delete: operation({ summary: 'Revoke one of my device passwords', tag: T, ok: { status: 204, description: 'Revoked' } }) },
    },
  };
  return { router, openapi };
}
