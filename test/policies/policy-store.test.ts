import { describe, it, expect, beforeEach, afterEach, beforeAll, afterAll } from '@jest/globals';
import { ManualClock } from '../../kernel/clock.ts';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { decide } from '../../policies/decide.ts';
import { InvalidPolicyError } from '../../policies/load.ts';
import { PolicyStore, POLICY_CHANNEL, AUDIT_STREAM, type ActivePolicy } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';
import { anonymousIdentity } from '../../policies/identity.ts';

import { defaultDraft as defaultDoc, edit, read } from './draft.ts';
const GB = 1024 ** 3;
const agoraGet = { method: 'GET', path: '/latest' };

/** Resolves with the next policy `store` switches to, or rejects after `ms`. */
function nextChange(store: PolicyStore, ms = 1000): Promise<ActivePolicy> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no policy change within ${ms} ms`));
    }, ms);
    const off = store.onChange((p) => {
      clearTimeout(timer);
      off();
      resolve(p);
    });
  });
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('PolicyStore (embedded)', () => {
  let stores: EmbeddedStores;
  let clock: ManualClock;
  let a: PolicyStore;
  let b: PolicyStore;

  beforeEach(async () => {
    clock = new ManualClock(Date.UTC(2026, 10, 22, 5, 0));
    stores = new EmbeddedStores({ path: ':memory:', clock });
    a = await PolicyStore.open({ stores, clock, pollMs: 0, knownServices: ['oficina', 'agora', 'meetings'] });
    b = await PolicyStore.open({ stores, clock, pollMs: 0 });
  });
  afterEach(async () => {
    await a.close();
    await b.close();
    await stores.close();
  });

  it('seeds version 1 from the default file once, by "system"', async () => {
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
    expect(a.current().submitted).toEqual(defaultDoc());
    const history = await a.history();
    expect(history).toEqual([{ version: 1, who: 'system', when: clock.now(), action: 'initial', changes: [] }]);
  });

  it('a change through one instance is applied by the other, with history, diff and audit', async () => {
    const doc = edit(defaultDoc(), 'plans.oficina-basic.storage', '2 GB');
    clock.advance(60_000);
    const seen = nextChange(b);
    const record = await a.update(doc, 'admin-1');
    expect(record).toMatchObject({ version: 2, who: 'admin-1', when: clock.now(), action: 'update' });
    expect(record.changes).toEqual([{ path: 'plans.oficina-basic.storage', before: '1 GB', after: '2 GB' }]);
    expect(a.version).toBe(2);
    expect((await seen).version).toBe(2);
    expect(b.current().compiled.document.plans['oficina-basic'].storage).toBe(2 * GB);
    expect((await b.history()).map((h) => h.version)).toEqual([1, 2]);
    expect((await b.getVersion(2))?.document).toEqual(doc);
    const audit = await stores.ledger.read(AUDIT_STREAM);
    expect(audit.entries.map((e) => e.data)).toEqual([
      { actor: 'admin-1', action: 'policy.update', target: { type: 'policy', id: '2' }, before: { version: 1 }, after: { version: 2, changed: ['plans.oficina-basic.storage'] } },
    ]);
  });

  it('refuses an invalid change, names the field, and changes nothing anywhere', async () => {
    const doc = edit(edit(defaultDoc(), 'plans.free.meetingMinutes', -1), 'rules.0.services', ['nextcloud']);
    const error = await a.update(doc, 'admin-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidPolicyError);
    expect((error as InvalidPolicyError).status).toBe(400);
    expect((error as InvalidPolicyError).fields).toEqual({
      'plans.free.meetingMinutes': 'must not be negative',
      'rules.0.services.0': 'unknown service "nextcloud"',
    });
    await tick(50);
    expect(a.version).toBe(1);
    expect(b.version).toBe(1);
    expect(await stores.documents.version('policy', 'current')).toBe(1);
    expect(await a.history()).toHaveLength(1);
    expect(await stores.ledger.count(AUDIT_STREAM)).toBe(0);
  });

  it('revert restores exactly the document of that version, as a new version', async () => {
    const original = a.current().submitted;
    const changed = defaultDoc();
    edit(changed, 'rules', (read(changed, 'rules') as Array<{ id: string }>).filter((r) => r.id !== 'agora-community' && r.id !== 'agora-read'));
    edit(changed, 'extraStorageBlock', null);
    await a.update(changed, 'admin-1');
    expect(decide(a.current().compiled, anonymousIdentity(), { id: 'agora' }, agoraGet).effect).toBe('deny');
    const seen = nextChange(b);
    const reverted = await a.revert(1, 'admin-2');
    expect(reverted).toMatchObject({ version: 3, who: 'admin-2', action: 'revert', revertedTo: 1 });
    expect(reverted.document).toEqual(original);
    expect(JSON.stringify(a.current().submitted)).toBe(JSON.stringify(original));
    expect((await seen).version).toBe(3);
    expect(decide(b.current().compiled, anonymousIdentity(), { id: 'agora' }, agoraGet).effect).toBe('allow');
    expect(reverted.changes.map((c) => c.path)).toEqual(expect.arrayContaining(['extraStorageBlock']));
    await expect(a.revert(42, 'admin-2')).rejects.toMatchObject({ status: 404 });
  });

  it('refuses a change based on an old version (409) and keeps the newer one', async () => {
    await a.update(defaultDoc(), 'admin-1', 1);
    await expect(b.update(defaultDoc(), 'admin-2', 1)).rejects.toMatchObject({ status: 409, code: 'conflict' });
    expect(await stores.documents.version('policy', 'current')).toBe(2);
  });

  it('ignores stale and malformed broadcasts', async () => {
    const doc = edit(defaultDoc(), 'defaultPlan', 'oficina-basic');
    await a.update(doc, 'admin-1');
    await tick(20);
    let changes = 0;
    b.onChange(() => (changes += 1));
    await stores.broadcast.publish(POLICY_CHANNEL, JSON.stringify({ version: 1 }));
    await stores.broadcast.publish(POLICY_CHANNEL, JSON.stringify({ version: 2 }));
    await stores.broadcast.publish(POLICY_CHANNEL, 'not json');
    await tick(50);
    expect(changes).toBe(0);
    expect(b.version).toBe(2);
    // A message claiming a version the store does not have does not downgrade or break anything.
    await stores.broadcast.publish(POLICY_CHANNEL, JSON.stringify({ version: 99 }));
    await tick(50);
    expect(b.version).toBe(2);
  });

  it('a process that missed the message catches up by polling the version', async () => {
    const deaf = await PolicyStore.open({
      stores: { documents: stores.documents, ledger: stores.ledger, broadcast: { publish: async () => {}, subscribe: async () => async () => {}, connected: () => true, epoch: () => 0 } },
      pollMs: 50,
    });
    try {
      const seen = nextChange(deaf, 1000);
      await a.update({ ...defaultDoc(), rules: [] }, 'admin-1');
      expect((await seen).version).toBe(2);
      expect(deaf.current().compiled.rules).toHaveLength(0);
    } finally {
      await deaf.close();
    }
  });

  it('a change whose audit record fails is reported as such (503) and is in force; a lost announcement is not an error', async () => {
    const failing = await PolicyStore.open({
      stores: {
        documents: stores.documents,
        ledger: { ...stores.ledger, append: async () => { throw new Error('disk full'); } },
        broadcast: { publish: async () => { throw new Error('no pubsub'); }, subscribe: stores.broadcast.subscribe.bind(stores.broadcast), connected: () => true, epoch: () => 0 },
      },
      pollMs: 0,
    });
    try {
      await expect(failing.update(defaultDoc(), 'admin-1')).rejects.toMatchObject({ status: 503, code: 'audit_unavailable', message: expect.stringContaining('now version 2') });
      expect(failing.version).toBe(2);
      await a.refresh();
      expect(a.version).toBe(2);
    } finally {
      await failing.close();
    }
  });

  it('seeds the shipped defaults where only some of their services run, and still refuses newly named unknown services', async () => {
    const small = new EmbeddedStores({ path: ':memory:', clock });
    const only = await PolicyStore.open({ stores: small, clock, pollMs: 0, knownServices: ['agora'] });
    try {
      expect(only.version).toBe(1);
      // Editing a plan works although the seeded rules name oficina and meetings.
      await only.update(edit(defaultDoc(), 'plans.oficina-basic.storage', '2 GB'), 'admin-1');
      expect(only.version).toBe(2);
      const typo = edit(defaultDoc(), 'rules.5.services', ['agroa']);
      await expect(only.update(typo, 'admin-1')).rejects.toMatchObject({ fields: { 'rules.5.services.0': 'unknown service "agroa"' } });
      expect(only.version).toBe(2);
    } finally {
      await only.close();
      await small.close();
    }
  });

  it('refuses to start from an invalid initial file', async () => {
    const empty = new EmbeddedStores({ path: ':memory:' });
    try {
      await expect(PolicyStore.open({ stores: empty, pollMs: 0, initialFile: '/nonexistent/policy.yaml' })).rejects.toBeInstanceOf(InvalidPolicyError);
      expect(await empty.documents.version('policy', 'current')).toBe(0);
    } finally {
      await empty.close();
    }
  });
});

describe('SubscriptionStore', () => {
  let stores: EmbeddedStores;
  let clock: ManualClock;
  let policies: PolicyStore;
  let subscriptions: SubscriptionStore;
  const start = Date.UTC(2026, 0, 1);

  beforeAll(async () => {
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    stores = new EmbeddedStores({ path: ':memory:', clock });
    policies = await PolicyStore.open({ stores, clock, pollMs: 0 });
    subscriptions = new SubscriptionStore({ stores, clock, policy: () => policies.current().compiled.document });
  });
  afterAll(async () => {
    await policies.close();
    await stores.close();
  });

  it('creates, updates and deletes subscriptions, each audited', async () => {
    const own = await subscriptions.create({ holder: { account: 'acc-1' }, plan: 'oficina-medium', extraBlocks: 1, from: start }, 'admin-1');
    const collective = await subscriptions.create({ holder: { collective: 'femprocomuns' }, plan: 'meetings-collective', from: start, coversMembers: true }, 'admin-1');
    expect(own).toMatchObject({ holder: { account: 'acc-1' }, plan: 'oficina-medium', extraBlocks: 1, coversMembers: false });
    expect(await subscriptions.entitlementsOf('acc-1', [{ collectiveId: 'femprocomuns' }])).toEqual({
      plans: expect.arrayContaining(['oficina-medium', 'meetings-collective']),
      extraStorageBlocks: 1,
      subscriptions: expect.arrayContaining([own.id, collective.id]),
    });
    const ended = await subscriptions.update(own.id, { holder: { account: 'acc-1' }, plan: 'oficina-medium', extraBlocks: 1, from: start, to: clock.now() }, 'admin-2');
    expect(ended.to).toBe(clock.now());
    expect((await subscriptions.entitlementsOf('acc-1', [])).plans).toEqual([]);
    await subscriptions.delete(collective.id, 'admin-2');
    expect(await subscriptions.get(collective.id)).toBeUndefined();
    const audit = (await stores.ledger.read(AUDIT_STREAM)).entries.map((e) => [e.data.actor, e.data.action]);
    expect(audit).toEqual([
      ['admin-1', 'subscription.create'],
      ['admin-1', 'subscription.create'],
      ['admin-2', 'subscription.update'],
      ['admin-2', 'subscription.delete'],
    ]);
  });

  it('keeps every state of a subscription and reverts one exactly, even after deletion', async () => {
    const created = await subscriptions.create({ holder: { collective: 'omcoop' }, plan: 'oficina-basic', extraBlocks: 2, from: start, coversMembers: true }, 'admin-1');
    await subscriptions.update(created.id, { holder: { collective: 'omcoop' }, plan: 'oficina-high', from: start }, 'admin-2');
    await subscriptions.delete(created.id, 'admin-3');
    const history = await subscriptions.history(created.id);
    expect(history.map((h) => [h.version, h.action, h.who, h.state?.plan ?? null])).toEqual([
      [1, 'create', 'admin-1', 'oficina-basic'],
      [2, 'update', 'admin-2', 'oficina-high'],
      [3, 'delete', 'admin-3', null],
    ]);
    const restored = await subscriptions.revert(created.id, 1, 'admin-4');
    expect(restored).toEqual(created);
    expect(await subscriptions.get(created.id)).toEqual(created);
    expect((await subscriptions.history(created.id)).at(-1)).toMatchObject({ version: 4, action: 'revert', revertedTo: 1, who: 'admin-4', state: created });
    expect(await subscriptions.revert(created.id, 3, 'admin-4')).toBeNull();
    expect(await subscriptions.get(created.id)).toBeUndefined();
    await expect(subscriptions.revert(created.id, 99, 'admin-4')).rejects.toMatchObject({ status: 404 });
  });

  it('serves entitlements from a cache that any process\'s change drops at once', async () => {
    const reader = new SubscriptionStore({ stores, clock, policy: () => policies.current().compiled.document, cacheMs: 60_000 });
    await reader.watch();
    try {
      expect((await reader.entitlementsOf('acc-9', [])).plans).toEqual([]);
      const created = await subscriptions.create({ holder: { account: 'acc-9' }, plan: 'oficina-high', from: start }, 'admin-1');
      await tick(20);
      expect((await reader.entitlementsOf('acc-9', [])).plans).toEqual(['oficina-high']);
      // Without an announcement the cache holds until it expires.
      await stores.documents.write([{ collection: 'subscriptions', id: created.id, doc: undefined }]);
      expect((await reader.entitlementsOf('acc-9', [])).plans).toEqual(['oficina-high']);
      clock.advance(60_000);
      expect((await reader.entitlementsOf('acc-9', [])).plans).toEqual([]);
    } finally {
      await reader.close();
    }
  });

  it.each([
    [{ holder: { account: 'a' }, plan: 'oficina-huge', from: 0 }, 'plan', 'unknown plan'],
    [{ holder: { account: 'a' }, plan: 'meetings-collective', from: 0 }, 'holder', 'cannot be held by an account'],
    [{ holder: { account: 'a' }, plan: 'oficina-basic', from: 10, to: 5 }, 'to', 'must be after from'],
    [{ holder: { account: 'a' }, plan: 'oficina-basic', from: 0, coversMembers: true }, 'coversMembers', 'only a collective'],
    [{ holder: { account: 'a' }, plan: 'oficina-basic', from: 0, extraBlocks: -1 }, 'extraBlocks', 'must not be negative'],
    [{ holder: { team: 'a' }, plan: 'oficina-basic', from: 0 }, 'holder', 'must be { account'],
  ])('refuses %j naming the field', async (input, field, message) => {
    const before = (await subscriptions.list()).length;
    const error = await subscriptions.create(input, 'admin-1').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 400, code: 'invalid_subscription' });
    expect((error as { fields: Record<string, string> }).fields[field]).toContain(message);
    expect(await subscriptions.list()).toHaveLength(before);
  });
});
