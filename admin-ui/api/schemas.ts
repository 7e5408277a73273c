/** Request bodies of the directory routes. Every one is `.strict()`: unknown fields are refused. */
import { z } from 'zod';

const serviceId = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be a service id').max(63);

export const accountCreateBody = z
  .object({
    username: z.string().min(1).max(100),
    email: z.string().min(3).max(254),
    name: z.string().min(1).max(200),
    password: z.string().max(256).optional(),
    emailVerified: z.boolean().optional(),
    platformAdmin: z.boolean().optional(),
  })
  .strict();

export const accountPatchBody = z
  .object({
    email: z.string().min(3).max(254).optional(),
    emailVerified: z.boolean().optional(),
    name: z.string().min(1).max(200).optional(),
    status: z.enum(['active', 'suspended']).optional(),
    platformAdmin: z.boolean().optional(),
  })
  .strict();

export const selfPatchBody = z.object({ name: z.string().min(1).max(200) }).strict();

export const passwordChangeBody = z.object({ currentPassword: z.string().max(256), newPassword: z.string().max(256) }).strict();

export const collectiveCreateBody = z
  .object({
    id: z.string().min(2).max(63),
    name: z.string().min(1).max(200),
    services: z.array(serviceId).max(100).default([]),
  })
  .strict();

export const collectivePatchBody = z
  .object({
    name: z.string().min(1).max(200).optional(),
    services: z.array(serviceId).max(100).optional(),
  })
  .strict();

export const memberAddBody = z
  .object({
    accountId: z.string().min(1).max(200).optional(),
    login: z.string().min(1).max(254).optional().describe('Username or email of an existing account.'),
  })
  .strict()
  .refine((b) => (b.accountId === undefined) !== (b.login === undefined), { message: 'give exactly one of accountId or login', path: ['accountId'] });

export const grantsBody = z.object({ services: z.array(serviceId).max(100) }).strict();

export const emptyBody = z.object({}).strict();

export const managerBody = z.object({ manager: z.boolean() }).strict();

export const invitationCreateBody = z.object({ email: z.string().min(3).max(254) }).strict();

export const invitationAcceptBody = z.object({ token: z.string().min(20).max(200) }).strict();

export const auditQuery = z
  .object({
    collective: z.string().max(63).optional(),
    limit: z.coerce.number().int().min(1).max(1000).optional(),
    cursor: z.string().max(40).optional(),
  })
  .strict();

export const accountsQuery = z
  .object({
    query: z.string().max(200).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    cursor: z.string().max(2000).optional(),
  })
  .strict();

export const outboxQuery = z
  .object({
    to: z.string().max(254).optional(),
    limit: z.coerce.number().int().min(1).max(500).optional(),
    cursor: z.string().max(2000).optional(),
  })
  .strict();

/** JSON Schema of a body, for the OpenAPI document. */
export function jsonSchema(schema: z.ZodType): unknown {
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
}
