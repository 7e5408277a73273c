import { z } from 'zod';

export const gatewaySchema = z
  .object({
    publicUrl: z.url().default('http://localhost:8080').describe('Public URL of the gateway (its OIDC redirect URI is `<publicUrl>/_porta/callback`).'),
    clientId: z.string().default('porta-gateway').describe('OIDC client id of the gateway at the IdP (registered automatically).'),
    clientSecret: z.string().min(16).optional().describe('Its secret; generated and stored at first start when omitted.'),
    sessionIdleSeconds: z.number().int().positive().default(8 * 3600).describe('A session unused this long ends (sliding expiry).'),
    sessionMaxSeconds: z.number().int().positive().default(7 * 86400).describe('A session ends this long after login, whatever its use (absolute expiry).'),
    maxHeaderBytes: z.number().int().positive().default(16384).describe('Largest request head accepted; larger gets 431.'),
    headersTimeoutMs: z.number().int().positive().default(10000).describe('A client must send its whole request head within this time (slowloris).'),
  })
  .strict()
  .default({
    publicUrl: 'http://localhost:8080',
    clientId: 'porta-gateway',
    sessionIdleSeconds: 8 * 3600,
    sessionMaxSeconds: 7 * 86400,
    maxHeaderBytes: 16384,
    headersTimeoutMs: 10000,
  });
