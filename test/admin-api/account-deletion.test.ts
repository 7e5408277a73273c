/**
 * The admin API's `onAccountDeleted` hook (metering moves a deleted account's usage to its anonymous
 * id): called for both ways of deleting, with what `AccountFlows.deleteAccount` returned; a failing
 * hook is reported as 503 rather than hidden. Real HTTP (supertest), embedded store and directory.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { generateKeyPair, SignJWT, jwtVerify, type CryptoKey } from 'jose';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import type { Account } from '../../directory/types.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { AuditLog } from '../../directory/audit.ts';
import { OutboxMailer } from '../../directory/mail/outbox.ts';
import { AccountFlows, type DeletedAccount } from '../../directory/accounts/account-flows.ts';
import { linksFor } from '../../directory/accounts/links.ts';
import { createAdminApi } from '../../admin-ui/api/index.ts';

const ISSUER = 'https://id.porta.test';

let stores: Stores;
let directory: EmbeddedDirectory;
let app: express.Express;
let privateKey: CryptoKey;
let admin: Account;
const calls: DeletedAccount[] = [];
let failHook = false;

const bearer = async (account: Account) =>
  `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'ES256' }).setIssuer(ISSUER).setAudience('porta-admin').setSubject(account.id).setIssuedAt().setExpirationTime('5m').sign(privateKey)}`;

const make = (username: string, platformAdmin = false) =>
  directory.createAccount({ username, email: `${username}@porta.test`, name: username, password: 'correct horse battery', emailVerified: true, platformAdmin });

beforeAll(async () => {
  stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  directory = new EmbeddedDirectory({ documents: stores.documents, services: ['oficina'] });
  const keys = await generateKeyPair('ES256');
  privateKey = keys.privateKey;
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
  app = express();
  app.use(
    '/api/v1',
    createAdminApi({
      directory,
      flows,
      audit,
      outbox,
      onAccountDeleted: async (deleted) => {
        if (failHook) throw new Error('ledger unavailable');
        calls.push(deleted);
      },
      verifyAccessToken: async (token) => {
        const { payload } = await jwtVerify(token, keys.publicKey, { issuer: ISSUER, audience: 'porta-admin', algorithms: ['ES256'] });
        return { sub: String(payload.sub) };
      },
    }),
  );
  admin = await make('admin', true);
});

afterAll(async () => {
  await stores?.close();
});

describe('onAccountDeleted', () => {
  it('runs with the anonymous id when an admin deletes an account and when a person deletes their own', async () => {
    const byAdmin = await make('byadmin');
    const self = await make('myself');
    const first = await request(app).delete(`/api/v1/accounts/${byAdmin.id}`).set('Authorization', await bearer(admin));
    expect(first.status).toBe(200);
    const second = await request(app).delete('/api/v1/me').set('Authorization', await bearer(self));
    expect(second.status).toBe(200);
    expect(calls).toEqual([
      { accountId: byAdmin.id, anonymousId: first.body.anonymousId },
      { accountId: self.id, anonymousId: second.body.anonymousId },
    ]);
    expect(first.body.anonymousId).not.toBe(second.body.anonymousId);
  });

  it('reports a failing hook as 503 with a message saying what is left to do', async () => {
    const account = await make('unlucky');
    failHook = true;
    try {
      const res = await request(app).delete(`/api/v1/accounts/${account.id}`).set('Authorization', await bearer(admin));
      expect(res.status).toBe(503);
      expect(res.body.error.code).toBe('deletion_incomplete');
      expect(res.body.error.message).toMatch(/deleted.*usage records could not be moved/i);
      expect(JSON.stringify(res.body)).not.toContain('ledger unavailable');
    } finally {
      failHook = false;
    }
    expect(await directory.getAccount(account.id)).toBeUndefined();
  });

  it('is not called when the deletion itself is refused', async () => {
    const before = calls.length;
    const res = await request(app).delete('/api/v1/accounts/no-such-account').set('Authorization', await bearer(admin));
    expect(res.status).toBe(404);
    expect(calls).toHaveLength(before);
  });
});
