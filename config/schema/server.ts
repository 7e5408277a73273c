import { z } from 'zod';

const port = z.number().int().min(0).max(65535);

export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1').describe('Address the listeners bind to. Use 0.0.0.0 to listen on every interface.'),
    idpPort: port.default(4000).describe('Port of the identity provider (login pages, OIDC endpoints, admin API and UI).'),
    gatewayPort: port.default(8080).describe('Port of the gateway that fronts the hosted services.'),
    trustedProxies: z
      .array(z.string())
      .default([])
      .describe('Addresses or CIDR ranges of reverse proxies whose X-Forwarded-For / -Proto is believed. Empty: none.'),
    shutdownTimeoutMs: z.number().int().positive().default(10000).describe('How long SIGTERM waits for in-flight requests before closing anyway.'),
  })
  .strict()
  .default({ host: '127.0.0.1', idpPort: 4000, gatewayPort: 8080, trustedProxies: [], shutdownTimeoutMs: 10000 });

export const logSchema = z
  .object({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Log level.'),
  })
  .strict()
  .default({ level: 'info' });
