/**
 * The admin API's `onAccountDeleted` hook (metering moves a deleted account's usage to its anonymous
 * id): called for both ways of deleting, with what `AccountFlows.deleteAccount` returned; a failing
 * hook is reported as 503 rather than hidden. Real HTTP (supertest), embedded store and directory.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import express from 'express';
import request from 'supertest';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import type { Account } from '../../directory/types.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import type { DeletedAccount } from '../../directory/accounts/account-flows.ts';
import { adminApiHarness } from './harness.ts';


let stores: Stores;
let directory: EmbeddedDirectory;
let app: express.Express;
let sign: (sub: string) => Promise<string>;
let admin: Account;
const calls: DeletedAccount[] = [];
let failHook = false;

const bearer = async (account: Account) => `Bearer ${await sign(account.id)}`;

const make = (username: string, platformAdmin = false) =>
  directory.createAccount({ username, email: `${username}@porta.test`, name: username, password: 'correct horse battery', emailVerified: true, platformAdmin });

beforeAll(async () => {
  stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
  directory = new EmbeddedDirectory({ documents: stores.documents, services: ['oficina'] });
  const harness = await adminApiHarness(directory, stores, {
    onAccountDeleted: async (deleted) => {
      if (failHook) throw new Error('ledger unavailable');
      calls.push(deleted);
    },
  });
  app = harness.app;
  sign = harness.tokens.sign;
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
