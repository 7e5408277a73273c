import { describe, it, expect } from '@jest/globals';
import { entitlementsOf, type Subscription } from '../../policies/subscriptions.ts';
import { identityOf } from '../../policies/identity.ts';
import { diff } from '../../policies/diff.ts';

const DAY = 86_400_000;
const t0 = Date.UTC(2026, 0, 1);

const subs: Subscription[] = [
  { id: 's-own', holder: { account: 'alice' }, plan: 'oficina-basic', extraBlocks: 1, from: t0, to: t0 + 30 * DAY, coversMembers: false },
  { id: 's-own-later', holder: { account: 'alice' }, plan: 'meetings-supporter', extraBlocks: 0, from: t0 + 10 * DAY, coversMembers: false },
  { id: 's-coll', holder: { collective: 'femprocomuns' }, plan: 'oficina-medium', extraBlocks: 2, from: t0, coversMembers: true },
  { id: 's-coll-own', holder: { collective: 'femprocomuns' }, plan: 'meetings-collective', extraBlocks: 0, from: t0, coversMembers: false },
  { id: 's-other', holder: { account: 'bob' }, plan: 'oficina-high', extraBlocks: 0, from: t0, coversMembers: false },
  { id: 's-dup', holder: { collective: 'omcoop' }, plan: 'oficina-basic', extraBlocks: 0, from: t0, coversMembers: true },
];

describe('entitlementsOf', () => {
  it.each([
    ['before anything starts', 'alice', [], t0 - 1, { plans: [], extraStorageBlocks: 0, subscriptions: [] }],
    ['own subscription on its first instant', 'alice', [], t0, { plans: ['oficina-basic'], extraStorageBlocks: 1, subscriptions: ['s-own'] }],
    ['a later one starts', 'alice', [], t0 + 10 * DAY, { plans: ['oficina-basic', 'meetings-supporter'], extraStorageBlocks: 1, subscriptions: ['s-own', 's-own-later'] }],
    ['`to` is excluded', 'alice', [], t0 + 30 * DAY, { plans: ['meetings-supporter'], extraStorageBlocks: 0, subscriptions: ['s-own-later'] }],
    ['a collective plan covering members counts, one not covering does not', 'carla', ['femprocomuns'], t0, { plans: ['oficina-medium'], extraStorageBlocks: 2, subscriptions: ['s-coll'] }],
    ['not a member: nothing of the collective', 'carla', ['other'], t0, { plans: [], extraStorageBlocks: 0, subscriptions: [] }],
    ['the same plan twice is listed once', 'alice', ['omcoop'], t0, { plans: ['oficina-basic'], extraStorageBlocks: 1, subscriptions: ['s-own', 's-dup'] }],
  ] as const)('%s', (_name, account, collectives, at, expected) => {
    expect(entitlementsOf(account, collectives.map((collectiveId) => ({ collectiveId })), subs, at)).toEqual(expected);
  });
});

describe('identityOf', () => {
  it('derives roles, collectives and grants', () => {
    const identity = identityOf(
      { id: 'alice', platformAdmin: false },
      [{ collectiveId: 'femprocomuns', manager: true, grants: ['oficina-femprocomuns'] }, { collectiveId: 'omcoop', manager: false, grants: [] }],
      { plans: ['oficina-basic'], extraStorageBlocks: 1 },
      ['pwd', 'otp'],
    );
    expect(identity).toEqual({
      subject: 'alice',
      plans: ['oficina-basic'],
      extraStorageBlocks: 1,
      collectives: ['femprocomuns', 'omcoop'],
      grants: { femprocomuns: ['oficina-femprocomuns'], omcoop: [] },
      roles: ['manager', 'member'],
      amr: ['pwd', 'otp'],
    });
    expect(identityOf({ id: 'root', platformAdmin: true }, [], { plans: [], extraStorageBlocks: 0 }).roles).toEqual(['platform-admin']);
  });
});

describe('diff', () => {
  it('lists changed, added and removed paths with before and after', () => {
    const before = { plans: { a: { storage: '1 GB', name: 'A' } }, rules: [{ id: 'x' }, { id: 'y' }], gone: 1 };
    const after = { plans: { a: { storage: '2 GB', name: 'A' }, b: { name: 'B' } }, rules: [{ id: 'x' }], added: null };
    expect(diff(before, after)).toEqual([
      { path: 'plans.a.storage', before: '1 GB', after: '2 GB' },
      { path: 'plans.b', after: { name: 'B' } },
      { path: 'rules.1', before: { id: 'y' } },
      { path: 'gone', before: 1 },
      { path: 'added', after: null },
    ]);
    expect(diff(before, structuredClone(before))).toEqual([]);
  });
});
