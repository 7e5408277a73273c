import { z } from 'zod';

const rateLimitSchema = z
  .object({
    points: z.number().int().positive().describe('Requests allowed per window.'),
    durationSeconds: z.number().int().positive().describe('Length of the window in seconds.'),
  })
  .strict();

export const gatewaySchema = z
  .object({
    publicUrl: z.url().default('http://localhost:8080').describe('Public URL of the gateway (its OIDC redirect URI is `<publicUrl>/_porta/callback`).'),
    clientId: z.string().default('porta-gateway').describe('OIDC client id of the gateway at the IdP (registered automatically).'),
    clientSecret: z.string().min(16).optional().describe('Its secret; generated and stored at first start when omitted.'),
    sessionIdleSeconds: z.number().int().positive().default(8 * 3600).describe('A session unused this long ends (sliding expiry).'),
    sessionMaxSeconds: z.number().int().positive().default(7 * 86400).describe('A session ends this long after login, whatever its use (absolute expiry).'),
    maxHeaderBytes: z.number().int().positive().default(16384).describe('Largest request head accepted; larger gets 431.'),
    headersTimeoutMs: z.number().int().positive().default(10000).describe('A client must send its whole request head within this time (slowloris).'),
    sessionCacheSeconds: z
      .number()
      .min(0)
      .default(2)
      .describe('How long a process trusts a session it read from the store before reading it again. Logout reaches every process at once by broadcast; this bounds the damage if a broadcast is lost.'),
    tokenCacheSize: z.number().int().positive().default(10000).describe('Verified bearer tokens kept in memory (each until it expires).'),
    identityCacheSeconds: z.number().min(0).default(30).describe('How long the identity (plans, collectives, grants) of a subject is reused before it is looked up again.'),
    defaultRateLimit: rateLimitSchema
      .default({ points: 1200, durationSeconds: 60 })
      .describe('Rate limit per user (or per address when anonymous) and service, when the policy gives none.'),
    rateLimitMaxBlock: z
      .number()
      .int()
      .positive()
      .default(100)
      .describe('Most rate-limit points a process reserves from the shared store at once (bigger: fewer store round trips, coarser sharing between processes).'),
    upstreamMaxSockets: z.number().int().positive().default(256).describe('Keep-alive connections per upstream at most.'),
    scope: z.string().default('openid email profile groups plan offline_access').describe('Scopes the gateway asks the IdP for at login.'),
  })
  .strict()
  .default({
    publicUrl: 'http://localhost:8080',
    clientId: 'porta-gateway',
    sessionIdleSeconds: 8 * 3600,
    sessionMaxSeconds: 7 * 86400,
    maxHeaderBytes: 16384,
    headersTimeoutMs: 10000,
    sessionCacheSeconds: 2,
    tokenCacheSize: 10000,
    identityCacheSeconds: 30,
    defaultRateLimit: { points: 1200, durationSeconds: 60 },
    rateLimitMaxBlock: 100,
    upstreamMaxSockets: 256,
    scope: 'openid email profile groups plan offline_access',
  });
