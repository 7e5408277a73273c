/**
 * The admin API as the admin-API tests mount it: the real `createAdminApi` over a given directory and
 * store, with the account flows, audit log and outbox the composition root would build, and access
 * tokens that a test signs itself (ES256; the API verifies them exactly as it verifies Porta's).
 */
import express from 'express';
import { generateKeyPair, SignJWT, jwtVerify, type CryptoKey } from 'jose';
import type { Stores } from '../../store/types.ts';
import type { Directory } from '../../directory/types.ts';
import { AuditLog } from '../../directory/audit.ts';
import { OutboxMailer } from '../../directory/mail/outbox.ts';
import { AccountFlows } from '../../directory/accounts/account-flows.ts';
import { linksFor } from '../../directory/accounts/links.ts';
import { createAdminApi, type AdminApiDeps } from '../../admin-ui/api/index.ts';

export const ISSUER = 'https://id.porta.test';
export const AUDIENCE = 'porta-admin';

export interface TestTokens {
  privateKey: CryptoKey;
  /** An access token for `sub`, as the IdP would issue for the admin API. */
  sign(sub: string, options?: { audience?: string; expiresIn?: string; key?: CryptoKey }): Promise<string>;
  verifyAccessToken: AdminApiDeps['verifyAccessToken'];
}

export async function testTokens(): Promise<TestTokens> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  return {
    privateKey,
    sign: (sub, options = {}) =>
      new SignJWT({ amr: ['pwd'] })
        .setProtectedHeader({ alg: 'ES256' })
        .setIssuer(ISSUER)
        .setAudience(options.audience ?? AUDIENCE)
        .setSubject(sub)
        .setIssuedAt()
        .setExpirationTime(options.expiresIn ?? '5m')
        .sign(options.key ?? privateKey),
    async verifyAccessToken(token) {
      const { payload } = await jwtVerify(token, publicKey, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['ES256'] });
      return { sub: String(payload.sub), amr: payload.amr as string[] | undefined };
    },
  };
}

export interface AdminApiHarness {
  app: express.Express;
  tokens: TestTokens;
  flows: AccountFlows;
  audit: AuditLog;
  outbox: OutboxMailer;
}

/** Mounts the admin API at /api/v1; `extra` adds or overrides deps (hooks, extra routers). */
export async function adminApiHarness(directory: Directory, stores: Stores, extra: Partial<AdminApiDeps> = {}): Promise<AdminApiHarness> {
  const tokens = await testTokens();
  const audit = new AuditLog(stores.ledger);
  const outbox = new OutboxMailer({ documents: stores.documents, from: 'porta@porta.test' });
  const flows = new AccountFlows({
    directory,
    kv: stores.kv,
    documents: stores.documents,
    mailer: outbox,
    audit,
    links: linksFor(ISSUER),
    registration: 'open',
    ttl: { verificationTtlSeconds: 3600, resetTtlSeconds: 600, invitationTtlSeconds: 3600 },
  });
  const app = express();
  app.use('/api/v1', createAdminApi({ directory, flows, audit, outbox, broadcast: stores.broadcast, verifyAccessToken: tokens.verifyAccessToken, ...extra }));
  return { app, tokens, flows, audit, outbox };
}
