/** Contract of the oidc-provider adapter over a KeyValueStore; runs against every store implementation. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { Stores } from '../../store/types.ts';
import type { Clock } from '../../kernel/clock.ts';
import { createAdapterClass, type AdapterClass } from '../../idp/provider/adapter.ts';

export interface AdapterHarness {
  stores: Stores;
  /** The clock both the store and the adapter use. */
  clock: Clock;
  /** Moves time forward: a manual clock for embedded, a real wait for Redis. */
  advance(ms: number): Promise<void> | void;
  cleanup(): Promise<void>;
}

const id = () => randomUUID();

export function runOidcAdapterContract(name: string, make: () => Promise<AdapterHarness>): void {
  describe(`oidc-provider adapter contract: ${name}`, () => {
    let h: AdapterHarness;
    let Adapter: AdapterClass;
    beforeAll(async () => {
      h = await make();
      Adapter = createAdapterClass(h.stores.kv, h.clock, `oidc-${randomUUID()}:`);
    });
    afterAll(async () => {
      await h.cleanup();
    });

    it('finds what was upserted, nothing for an unknown id, and the latest version after an overwrite', async () => {
      const tokens = new Adapter('AccessToken');
      const key = id();
      expect(await tokens.find(key)).toBeUndefined();
      await tokens.upsert(key, { accountId: 'a1', clientId: 'c1', scope: 'openid' }, 60);
      expect(await tokens.find(key)).toEqual({ accountId: 'a1', clientId: 'c1', scope: 'openid' });
      await tokens.upsert(key, { accountId: 'a1', clientId: 'c1', scope: 'openid email' }, 60);
      expect(await tokens.find(key)).toMatchObject({ scope: 'openid email' });
    });

    it('keeps models apart: the same id under two models is two records', async () => {
      const key = id();
      await new Adapter('AccessToken').upsert(key, { kind: 'AccessToken' }, 60);
      await new Adapter('RefreshToken').upsert(key, { kind: 'RefreshToken' }, 60);
      expect(await new Adapter('AccessToken').find(key)).toEqual({ kind: 'AccessToken' });
      expect(await new Adapter('RefreshToken').find(key)).toEqual({ kind: 'RefreshToken' });
    });

    it('forgets a record once its expiresIn has passed, and keeps one without expiry', async () => {
      const codes = new Adapter('AuthorizationCode');
      const grants = new Adapter('Grant');
      const short = id();
      const forever = id();
      await codes.upsert(short, { accountId: 'a1' }, 1);
      await grants.upsert(forever, { accountId: 'a1' });
      expect(await codes.find(short)).toBeDefined();
      await h.advance(1500);
      expect(await codes.find(short)).toBeUndefined();
      expect(await grants.find(forever)).toEqual({ accountId: 'a1' });
    });

    it('finds a session by its uid, and no longer after it is destroyed', async () => {
      const sessions = new Adapter('Session');
      const key = id();
      const uid = id();
      await sessions.upsert(key, { uid, accountId: 'a1' }, 60);
      expect(await sessions.findByUid(uid)).toEqual({ uid, accountId: 'a1' });
      expect(await sessions.findByUid(id())).toBeUndefined();
      await sessions.destroy(key);
      expect(await sessions.find(key)).toBeUndefined();
      expect(await sessions.findByUid(uid)).toBeUndefined();
    });

    it('finds a device code by its user code', async () => {
      const devices = new Adapter('DeviceCode');
      const key = id();
      await devices.upsert(key, { userCode: 'ABCD-EFGH', clientId: 'tv' }, 60);
      expect(await devices.findByUserCode('ABCD-EFGH')).toEqual({ userCode: 'ABCD-EFGH', clientId: 'tv' });
      expect(await devices.findByUserCode('ZZZZ-ZZZZ')).toBeUndefined();
    });

    it('marks a consumed record with a truthy consumed, keeps its payload and its expiry', async () => {
      const codes = new Adapter('AuthorizationCode');
      const key = id();
      await codes.upsert(key, { accountId: 'a1', grantId: id() }, 2);
      expect((await codes.find(key))?.consumed).toBeUndefined();
      await codes.consume(key);
      const consumed = await codes.find(key);
      expect(consumed?.consumed).toBeTruthy();
      expect(consumed?.accountId).toBe('a1');
      await h.advance(2500);
      expect(await codes.find(key)).toBeUndefined();
    });

    it('lets exactly one of two concurrent consumes win; the loser is refused and the grant revoked', async () => {
      const grantId = id();
      const code = id();
      const token = id();
      await new Adapter('AuthorizationCode').upsert(code, { grantId }, 60);
      await new Adapter('AccessToken').upsert(token, { grantId }, 60);
      await new Adapter('Grant').upsert(grantId, { accountId: 'a1' }, 600);
      // Two adapters, as in two IdP processes.
      const results = await Promise.allSettled([new Adapter('AuthorizationCode').consume(code), new Adapter('AuthorizationCode').consume(code)]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(refused.reason).toMatchObject({ error: 'invalid_grant', statusCode: 400 });
      expect(await new Adapter('AccessToken').find(token)).toBeUndefined();
      expect(await new Adapter('Grant').find(grantId)).toBeUndefined();
    });

    it('refuses a second consume of the same artefact', async () => {
      const tokens = new Adapter('RefreshToken');
      const key = id();
      await tokens.upsert(key, { grantId: id() }, 60);
      await tokens.consume(key);
      await expect(tokens.consume(key)).rejects.toMatchObject({ error: 'invalid_grant' });
    });

    it('consuming or destroying an unknown id is harmless', async () => {
      const codes = new Adapter('AuthorizationCode');
      await expect(codes.consume(id())).resolves.toBeUndefined();
      await expect(codes.destroy(id())).resolves.toBeUndefined();
    });

    it('revokes every artefact of a grant and nothing of another grant', async () => {
      const grantId = id();
      const otherGrant = id();
      const [at, rt, code] = [id(), id(), id()];
      const keep = id();
      await new Adapter('AccessToken').upsert(at, { grantId }, 60);
      await new Adapter('RefreshToken').upsert(rt, { grantId }, 600);
      await new Adapter('AuthorizationCode').upsert(code, { grantId }, 60);
      await new Adapter('AccessToken').upsert(keep, { grantId: otherGrant }, 60);
      await new Adapter('RefreshToken').revokeByGrantId(grantId);
      expect(await new Adapter('AccessToken').find(at)).toBeUndefined();
      expect(await new Adapter('RefreshToken').find(rt)).toBeUndefined();
      expect(await new Adapter('AuthorizationCode').find(code)).toBeUndefined();
      expect(await new Adapter('AccessToken').find(keep)).toEqual({ grantId: otherGrant });
    });

    it('shares state between two adapters over the same store (two IdP processes)', async () => {
      const Other = createAdapterClass(h.stores.kv, h.clock, 'oidc-shared:');
      const Mine = createAdapterClass(h.stores.kv, h.clock, 'oidc-shared:');
      const key = id();
      await new Mine('Interaction').upsert(key, { returnTo: 'http://x/auth/1' }, 60);
      expect(await new Other('Interaction').find(key)).toEqual({ returnTo: 'http://x/auth/1' });
    });
  });
}
