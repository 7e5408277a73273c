import { z } from 'zod';

export const serviceSchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be lower-case letters, digits and dashes').describe('Stable id used in plans, grants, rules and usage records.'),
    name: z.string().min(1).describe('Name shown to people, e.g. "Oficina".'),
    kind: z.enum(['generic', 'webdav', 'bbb']).default('generic').describe('`webdav` enforces storage quotas (Nextcloud), `bbb` meeting limits (BigBlueButton API), `generic` neither.'),
    upstream: z.url().describe('Where the gateway forwards requests, e.g. `http://127.0.0.1:8081`.'),
    host: z.string().optional().describe('Match requests for this Host (without port).'),
    pathPrefix: z.string().regex(/^\//, 'must start with /').default('/').describe('Match requests under this path.'),
    identityHeaders: z.enum(['oauth2-proxy', 'authelia', 'none']).default('oauth2-proxy').describe('Names of the identity headers sent upstream (`X-Forwarded-User` … or `Remote-User` …).'),
    passAccessToken: z.boolean().default(false).describe('Also send the user\'s access token upstream as `Authorization: Bearer`.'),
    timeoutMs: z.number().int().positive().default(30000).describe('Upstream timeout; past it the client gets 504.'),
    preserveHost: z.boolean().default(true).describe('Send the client\'s Host header upstream (true) or the upstream\'s own host (false).'),
    dedicated: z.boolean().default(false).describe('A service a collective contracts (its own Oficina or Agora); only granted members reach it.'),
    bbbSecret: z.string().min(16, 'must be at least 16 characters').optional().describe('`bbb` services: BigBlueButton\'s own shared secret (`bbb-conf --secret`). Prefer the PORTA_BBB_<ID>_SECRET variable.'),
    frontSecret: z.string().min(16, 'must be at least 16 characters').optional().describe('`bbb` services: the secret given to the front end (Greenlight\'s BIGBLUEBUTTON_SECRET); the gateway checks it and re-signs with `bbbSecret`. Prefer PORTA_BBB_<ID>_FRONT_SECRET.'),
    ocsUser: z.string().min(1).optional().describe('`webdav` services: a Nextcloud admin for the OCS user API; with `ocsPassword`, plan changes are pushed to Nextcloud\'s quota and storage is sampled daily for metering. Prefer PORTA_OCS_<ID>_USER.'),
    ocsPassword: z.string().min(1).optional().describe('`webdav` services: the password (or app password) of `ocsUser`. Prefer PORTA_OCS_<ID>_PASSWORD.'),
    greenlight: z.boolean().default(false).describe('This service is Greenlight\'s web app: the gateway notes who starts a meeting, so the meetings enforcer knows the host.'),
  })
  .strict();

export const servicesSchema = z.array(serviceSchema).default([]).describe('Hosted services the gateway fronts and collectives can contract.');
