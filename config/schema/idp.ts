import { z } from 'zod';

export const clientSchema = z
  .object({
    clientId: z.string().min(1).describe('Client id the service sends.'),
    clientSecret: z.string().min(16, 'must be at least 16 characters').optional().describe('Secret of a confidential client; omit for a public client (PKCE required).'),
    name: z.string().optional().describe('Name shown on the consent page.'),
    redirectUris: z.array(z.url()).default([]).describe('Exact redirect URIs; no wildcards.'),
    postLogoutRedirectUris: z.array(z.url()).default([]).describe('Where RP-initiated logout may send the browser back.'),
    backchannelLogoutUri: z.url().optional().describe('Back-channel logout endpoint of the client (Nextcloud user_oidc has one).'),
    tokenEndpointAuthMethod: z
      .enum(['client_secret_basic', 'client_secret_post', 'none'])
      .optional()
      .describe('How the client authenticates at the token endpoint. Default: `client_secret_basic` with a secret, `none` without.'),
    grantTypes: z
      .array(z.enum(['authorization_code', 'refresh_token', 'client_credentials']))
      .default(['authorization_code', 'refresh_token'])
      .describe('Grant types the client may use.'),
    requirePkce: z.boolean().default(true).describe('Require PKCE (S256). Always on for public clients; turn off for Discourse and Greenlight, which send none.'),
    firstParty: z.boolean().default(false).describe('Skip the consent page (a service run by the same cooperative).'),
    scope: z.string().default('openid email profile groups plan offline_access').describe('Scopes the client may ask for.'),
  })
  .strict()
  .superRefine((client, ctx) => {
    const method = client.tokenEndpointAuthMethod;
    if (method && method !== 'none' && !client.clientSecret) {
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: `is required when tokenEndpointAuthMethod is ${method}` });
    }
    if (method === 'none' && client.clientSecret) {
      ctx.addIssue({ code: 'custom', path: ['clientSecret'], message: 'must be omitted when tokenEndpointAuthMethod is none (a public client)' });
    }
    if (client.grantTypes.includes('client_credentials') && !client.clientSecret) {
      ctx.addIssue({ code: 'custom', path: ['grantTypes'], message: 'client_credentials needs a confidential client (set clientSecret)' });
    }
    if (client.grantTypes.includes('authorization_code') && client.redirectUris.length === 0) {
      ctx.addIssue({ code: 'custom', path: ['redirectUris'], message: 'at least one redirect URI is needed for authorization_code' });
    }
  });

export const idpSchema = z
  .object({
    issuer: z.url().default('http://localhost:4000').describe('Public URL of the identity provider; the `iss` of every token. Must be what browsers and services reach.'),
    clients: z.array(clientSchema).default([]).describe('OIDC clients (services) allowed to sign users in.'),
    groupsPrefix: z.string().default('').describe('Prefix of each collective in the `groups` claim, e.g. `cc-` so Nextcloud can whitelist `/^cc-/`.'),
    cookieKeys: z.array(z.string().min(32, 'must be at least 32 characters')).optional().describe('Keys that sign IdP cookies. Generated and stored at first start when omitted.'),
    accessTokenTtlSeconds: z.number().int().positive().default(600).describe('Lifetime of access tokens.'),
    idTokenTtlSeconds: z.number().int().positive().default(3600).describe('Lifetime of ID tokens.'),
    authorizationCodeTtlSeconds: z.number().int().positive().default(60).describe('Lifetime of an authorization code (single use).'),
    refreshTokenTtlSeconds: z.number().int().positive().default(14 * 86400).describe('Lifetime of a refresh token; each use rotates it.'),
    sessionTtlSeconds: z.number().int().positive().default(14 * 86400).describe('How long a sign-in at the IdP lasts (single sign-on session).'),
    adminAudience: z.string().min(1).default('porta-admin').describe('Audience of access tokens for the admin API (resource `urn:porta:admin`).'),
    loginThrottle: z
      .object({
        consecutiveFailures: z.number().int().positive().default(5).describe('Failed logins in a row for one username from one address before a pause.'),
        blockSeconds: z.number().int().positive().default(900).describe('Length of that pause.'),
        failuresPerIpPerDay: z.number().int().positive().default(100).describe('Failed logins from one address in a day before it is blocked for the day.'),
      })
      .strict()
      .default({ consecutiveFailures: 5, blockSeconds: 900, failuresPerIpPerDay: 100 }),
  })
  .strict()
  .superRefine((idp, ctx) => {
    const seen = new Set<string>();
    idp.clients.forEach((client, index) => {
      if (seen.has(client.clientId)) ctx.addIssue({ code: 'custom', path: ['clients', index, 'clientId'], message: `duplicate client id "${client.clientId}"` });
      seen.add(client.clientId);
    });
  })
  .default({
    issuer: 'http://localhost:4000',
    clients: [],
    groupsPrefix: '',
    accessTokenTtlSeconds: 600,
    idTokenTtlSeconds: 3600,
    authorizationCodeTtlSeconds: 60,
    refreshTokenTtlSeconds: 14 * 86400,
    sessionTtlSeconds: 14 * 86400,
    adminAudience: 'porta-admin',
    loginThrottle: { consecutiveFailures: 5, blockSeconds: 900, failuresPerIpPerDay: 100 },
  });
