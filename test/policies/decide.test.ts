import { describe, it, expect } from '@jest/globals';
import { compilePolicy, globToRegExp, pathMatcher } from '../../policies/compile.ts';
import { decide } from '../../policies/decide.ts';
import { anonymousIdentity } from '../../policies/identity.ts';
import { loadPolicyFile } from '../../policies/load.ts';
import { validatePolicy } from '../../policies/schema.ts';
import { quotaClaim, parseSize } from '../../policies/sizes.ts';
import type { Identity, PolicyDocument, Service } from '../../policies/types.ts';

const GB = 1024 ** 3;
const MB = 1024 ** 2;

function account(overrides: Partial<Identity> = {}): Identity {
  return { subject: 'acc-1', plans: [], extraStorageBlocks: 0, collectives: [], grants: {}, roles: [], amr: ['pwd'], ...overrides };
}

function policyOf(raw: unknown): PolicyDocument {
  const result = validatePolicy(raw);
  if (!result.ok) throw new Error(JSON.stringify(result.problems));
  return result.policy;
}

/** A policy with one rule per kind, each on its own service so the rules do not shadow each other. */
const kinds = compilePolicy(
  policyOf({
    defaultPlan: 'free',
    plans: { free: { name: 'Free' }, pro: { name: 'Pro', storage: '1 GB' } },
    rules: [
      { id: 'public', services: ['s-public'], subjects: ['public'], effect: 'allow' },
      { id: 'authenticated', services: ['s-auth'], subjects: ['authenticated'], effect: 'allow' },
      { id: 'plans', services: ['s-plans'], subjects: [{ plans: ['pro'] }], effect: 'allow' },
      { id: 'collectives', services: ['s-coll'], subjects: [{ collectives: ['femprocomuns'] }], effect: 'allow' },
      { id: 'grants', services: ['s-grants', 'other-dedicated'], subjects: ['grants'], effect: 'allow' },
      { id: 'admins', services: ['s-admin'], subjects: ['platform-admins'], effect: 'allow' },
      { id: 'managers', services: ['s-managers'], subjects: ['managers'], effect: 'allow' },
      { id: 'two-factor', services: ['s-2fa'], subjects: ['authenticated'], factors: 'two', effect: 'allow' },
      { id: 'methods', services: ['s-methods'], methods: ['GET', 'HEAD'], subjects: ['public'], effect: 'allow' },
      { id: 'prefix', services: ['s-paths'], paths: ['/public'], subjects: ['public'], effect: 'allow' },
      { id: 'glob', services: ['s-paths'], paths: ['/files/*/share', '/dav/**.txt'], subjects: ['public'], effect: 'allow' },
      { id: 'free-plan', services: ['s-free'], subjects: [{ plans: ['free'] }], effect: 'allow' },
    ],
  }),
);

const svc = (id: string): Service => ({ id });
const GET = (path = '/') => ({ method: 'GET', path, host: 'example.org' });
const POST = (path = '/') => ({ method: 'POST', path, host: 'example.org' });

describe('decide: every rule kind', () => {
  const cases: Array<[string, Identity, string, { method: string; path: string }, 'allow' | 'deny', string]> = [
    ['public lets anonymous in', anonymousIdentity(), 's-public', GET(), 'allow', 'public'],
    ['authenticated refuses anonymous', anonymousIdentity(), 's-auth', GET(), 'deny', 'default'],
    ['authenticated lets an account in', account(), 's-auth', GET(), 'allow', 'authenticated'],
    ['plans: holder of the plan', account({ plans: ['pro'] }), 's-plans', GET(), 'allow', 'plans'],
    ['plans: account without it', account(), 's-plans', GET(), 'deny', 'default'],
    ['plans: anonymous never holds a plan', anonymousIdentity(), 's-free', GET(), 'deny', 'default'],
    ['plans: the default plan is held by every account', account(), 's-free', GET(), 'allow', 'free-plan'],
    ['collectives: member', account({ collectives: ['femprocomuns'] }), 's-coll', GET(), 'allow', 'collectives'],
    ['collectives: member of another', account({ collectives: ['other'] }), 's-coll', GET(), 'deny', 'default'],
    ['grants: granted this service', account({ collectives: ['c'], grants: { c: ['s-grants'] } }), 's-grants', GET(), 'allow', 'grants'],
    ['grants: granted another service only', account({ collectives: ['c'], grants: { c: ['other-dedicated'] } }), 's-grants', GET(), 'deny', 'default'],
    ['grants: member without grants', account({ collectives: ['c'], grants: { c: [] } }), 's-grants', GET(), 'deny', 'default'],
    ['platform-admins: admin', account({ roles: ['platform-admin'] }), 's-admin', GET(), 'allow', 'admins'],
    ['platform-admins: manager is not', account({ roles: ['manager', 'member'] }), 's-admin', GET(), 'deny', 'default'],
    ['managers: manager', account({ roles: ['manager', 'member'] }), 's-managers', GET(), 'allow', 'managers'],
    ['managers: member is not', account({ roles: ['member'] }), 's-managers', GET(), 'deny', 'default'],
    ['factors: otp', account({ amr: ['pwd', 'otp'] }), 's-2fa', GET(), 'allow', 'two-factor'],
    ['factors: hwk', account({ amr: ['hwk'] }), 's-2fa', GET(), 'allow', 'two-factor'],
    ['factors: password only', account({ amr: ['pwd'] }), 's-2fa', GET(), 'deny', 'default'],
    ['methods: GET', anonymousIdentity(), 's-methods', GET(), 'allow', 'methods'],
    ['methods: lower-case head', anonymousIdentity(), 's-methods', { method: 'head', path: '/' }, 'allow', 'methods'],
    ['methods: POST', anonymousIdentity(), 's-methods', POST(), 'deny', 'default'],
    ['prefix: exact', anonymousIdentity(), 's-paths', GET('/public'), 'allow', 'prefix'],
    ['prefix: below', anonymousIdentity(), 's-paths', GET('/public/a/b'), 'allow', 'prefix'],
    ['prefix: not a segment boundary', anonymousIdentity(), 's-paths', GET('/publication'), 'deny', 'default'],
    ['glob: * within a segment', anonymousIdentity(), 's-paths', GET('/files/42/share'), 'allow', 'glob'],
    ['glob: * does not cross segments', anonymousIdentity(), 's-paths', GET('/files/4/2/share'), 'deny', 'default'],
    ['glob: ** crosses segments', anonymousIdentity(), 's-paths', GET('/dav/a/b/c.txt'), 'allow', 'glob'],
    ['services: a rule for another service does not apply', account({ roles: ['platform-admin'] }), 's-unknown', GET(), 'deny', 'default'],
  ];
  it.each(cases)('%s', (_name, identity, service, request, effect, rule) => {
    const decision = decide(kinds, identity, svc(service), request);
    expect(decision.effect).toBe(effect);
    expect(decision.rule === 'default' ? 'default' : decision.rule.id).toBe(rule);
    expect(decision.reason.length).toBeGreaterThan(10);
  });

  it('reports the 1-based position of the matching rule', () => {
    const decision = decide(kinds, account({ plans: ['pro'] }), svc('s-plans'), GET());
    expect(decision.rule).toEqual({ id: 'plans', position: 3 });
  });
});

describe('decide: ordering and the default', () => {
  const ordered = compilePolicy(
    policyOf({
      defaultPlan: 'free',
      plans: { free: { name: 'Free' }, pro: { name: 'Pro' } },
      rules: [
        { id: 'block-admin', services: ['app'], paths: ['/admin'], subjects: ['public'], effect: 'deny', reason: 'The admin area is closed.' },
        { id: 'pro-users', services: ['app'], subjects: [{ plans: ['pro'] }], effect: 'allow' },
        { id: 'deny-everyone-else', services: ['app'], subjects: ['authenticated'], effect: 'deny' },
        { id: 'late-allow', services: ['app'], subjects: ['authenticated'], effect: 'allow' },
      ],
    }),
  );

  it.each([
    ['an earlier deny wins over a later allow', account({ plans: ['pro'] }), '/admin/x', 'deny', 'block-admin'],
    ['the first allow wins', account({ plans: ['pro'] }), '/home', 'allow', 'pro-users'],
    ['a deny before an allow shadows it', account(), '/home', 'deny', 'deny-everyone-else'],
    ['nothing matches: default deny', anonymousIdentity(), '/home', 'deny', 'default'],
  ] as const)('%s', (_name, identity, path, effect, rule) => {
    const decision = decide(ordered, identity, svc('app'), GET(path));
    expect(decision.effect).toBe(effect);
    expect(decision.rule === 'default' ? 'default' : decision.rule.id).toBe(rule);
  });

  it('uses the rule reason for a deny and says what would allow', () => {
    const denied = decide(ordered, account(), svc('app'), GET('/admin'));
    expect(denied.reason).toBe('The admin area is closed.');
    expect(denied.wouldAllow).toBeUndefined();
    const shadowed = decide(ordered, account(), svc('app'), GET('/home'));
    expect(shadowed.wouldAllow).toBe('Access needs a subscription to Pro.');
  });

  it('an empty rule list denies everything, even platform admins', () => {
    const empty = compilePolicy(policyOf({ defaultPlan: 'free', plans: { free: { name: 'Free' } }, rules: [] }));
    const decision = decide(empty, account({ roles: ['platform-admin'], amr: ['pwd', 'otp'] }), svc('anything'), GET());
    expect(decision).toMatchObject({ effect: 'deny', rule: 'default' });
    expect(decision.reason).toContain('No rule gives this account access');
  });
});

describe('decide with the default policy', () => {
  const { compiled } = loadPolicyFile();
  const oficina: Service = { id: 'oficina', name: 'Oficina' };
  const meetings: Service = { id: 'meetings', name: 'Meetings' };
  const agora: Service = { id: 'agora', name: 'Agora' };

  it.each([
    ['free account: Agora', account(), agora, GET(), 'allow', 'agora-community'],
    ['anonymous: reads Agora', anonymousIdentity(), agora, GET('/t/1'), 'allow', 'agora-read'],
    ['anonymous: cannot post on Agora', anonymousIdentity(), agora, POST('/posts'), 'deny', 'default'],
    ['free account: no Oficina', account(), oficina, GET(), 'deny', 'default'],
    ['oficina-basic: Oficina', account({ plans: ['oficina-basic'] }), oficina, GET('/apps/files'), 'allow', 'oficina-storage-plans'],
    ['collective-covered member: Oficina', account({ plans: ['oficina-medium'], collectives: ['femprocomuns'] }), oficina, GET(), 'allow', 'oficina-storage-plans'],
    ['subscriber: not the admin pages', account({ plans: ['oficina-high'] }), oficina, GET('/settings/admin/users'), 'deny', 'oficina-admin-pages'],
    ['platform admin with password only: not the admin pages', account({ roles: ['platform-admin'] }), oficina, GET('/settings/admin'), 'deny', 'oficina-admin-pages'],
    ['platform admin with otp: the admin pages', account({ roles: ['platform-admin'], amr: ['pwd', 'otp'] }), oficina, GET('/settings/admin'), 'allow', 'oficina-admin-pages-two-factor'],
    ['platform admin: any service', account({ roles: ['platform-admin'] }), { id: 'oficina-femprocomuns' }, GET(), 'allow', 'platform-admins'],
    ['granted member: dedicated service', account({ collectives: ['femprocomuns'], grants: { femprocomuns: ['oficina-femprocomuns'] } }), { id: 'oficina-femprocomuns', dedicated: true }, GET(), 'allow', 'dedicated-services'],
    ['member not granted: dedicated service', account({ collectives: ['femprocomuns'], grants: { femprocomuns: [] } }), { id: 'oficina-femprocomuns', dedicated: true }, GET(), 'deny', 'default'],
    ['free account: meetings', account(), meetings, POST('/bigbluebutton/api/create'), 'allow', 'meetings-accounts'],
  ] as const)('%s', (_name, identity, service, request, effect, rule) => {
    const decision = decide(compiled, identity, service, request);
    expect(decision.effect).toBe(effect);
    expect(decision.rule === 'default' ? 'default' : decision.rule.id).toBe(rule);
  });

  it('tells a free account what would give access to Oficina', () => {
    const decision = decide(compiled, account(), oficina, GET());
    expect(decision.wouldAllow).toBe('Access needs a subscription to Oficina basic, Oficina medium or Oficina high.');
  });

  it('tells a platform admin on the admin pages that a second factor is needed', () => {
    const decision = decide(compiled, account({ roles: ['platform-admin'] }), oficina, GET('/settings/admin'));
    expect(decision.wouldAllow).toContain('second factor');
  });

  // Limits for each default plan (held together with the default plan `free`), on Oficina.
  const rate = (points: number) => ({ points, duration: 60 });
  it.each([
    ['anonymous', anonymousIdentity(), { plans: [], storage: 0, meetingMinutes: 0, hostedMinutesPerDay: 0, recordingStorage: 0, rateLimit: rate(1200) }],
    ['free', account(), { plans: ['free'], storage: 0, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: rate(1200) }],
    ['oficina-basic', account({ plans: ['oficina-basic'] }), { plans: ['free', 'oficina-basic'], storage: 1 * GB, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: rate(1200) }],
    ['oficina-medium', account({ plans: ['oficina-medium'] }), { plans: ['free', 'oficina-medium'], storage: 5 * GB, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: rate(1200) }],
    ['oficina-high', account({ plans: ['oficina-high'] }), { plans: ['free', 'oficina-high'], storage: 10 * GB, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: rate(2400) }],
    ['oficina-medium + 2 extra blocks', account({ plans: ['oficina-medium'], extraStorageBlocks: 2 }), { plans: ['free', 'oficina-medium'], storage: 15 * GB, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: rate(1200) }],
    ['meetings-supporter', account({ plans: ['meetings-supporter'] }), { plans: ['free', 'meetings-supporter'], storage: 0, meetingMinutes: null, hostedMinutesPerDay: null, recordingStorage: 1 * GB, rateLimit: rate(1200) }],
    ['meetings-collective', account({ plans: ['meetings-collective'] }), { plans: ['free', 'meetings-collective'], storage: 0, meetingMinutes: null, hostedMinutesPerDay: null, recordingStorage: 5 * GB, rateLimit: rate(1200) }],
    ['several plans: the most generous of each', account({ plans: ['oficina-high', 'meetings-supporter', 'meetings-collective', 'oficina-basic'] }), { plans: ['free', 'oficina-high', 'meetings-supporter', 'meetings-collective', 'oficina-basic'], storage: 10 * GB, meetingMinutes: null, hostedMinutesPerDay: null, recordingStorage: 5 * GB, rateLimit: rate(2400) }],
    ['a plan removed from the policy gives nothing', account({ plans: ['gone'] }), { plans: ['free'], storage: 0, meetingMinutes: 60, hostedMinutesPerDay: 120, recordingStorage: 0, rateLimit: rate(1200) }],
  ] as const)('limits: %s', (_name, identity, limits) => {
    expect(decide(compiled, identity, oficina, GET()).limits).toEqual(limits);
  });

  it('limits come with a deny too, and the policy-wide default rate limit applies to other services', () => {
    const decision = decide(compiled, account({ plans: ['oficina-high'] }), agora, POST());
    expect(decision.limits.rateLimit).toEqual({ points: 600, duration: 60 });
    expect(decide(compiled, account(), oficina, GET()).limits.meetingMinutes).toBe(60);
  });

  it('prices of the seeds', () => {
    const { plans, extraStorageBlock } = compiled.document;
    expect(Object.fromEntries(Object.entries(plans).map(([id, p]) => [id, p.price]))).toEqual({
      free: null,
      'oficina-basic': { cents: 500, period: 'month' },
      'oficina-medium': { cents: 1000, period: 'month' },
      'oficina-high': { cents: 1500, period: 'month' },
      'meetings-supporter': { cents: 12000, period: 'year' },
      'meetings-collective': { cents: 50000, period: 'year', minimum: true },
    });
    expect(extraStorageBlock).toEqual({ bytes: 5 * GB, priceCents: 500, period: 'month' });
  });
});

describe('quota claim for Nextcloud', () => {
  it.each([
    [null, 'none'],
    [GB, '1 GB'],
    [5 * GB, '5 GB'],
    [15 * GB, '15 GB'],
    [512 * MB, '512 MB'],
    [1536 * MB, '1536 MB'],
    [0, '0 B'],
    [1000, '1000 B'],
  ] as const)('%s bytes → %s', (bytes, claim) => {
    expect(quotaClaim(bytes)).toBe(claim);
    if (bytes !== null) expect(parseSize(claim)).toBe(bytes);
  });

  it('refuses what is not a size', () => {
    expect(() => quotaClaim(-1)).toThrow(RangeError);
    expect(() => quotaClaim(1.5)).toThrow(RangeError);
  });
});

describe('path matching', () => {
  it.each([
    ['/admin', '/admin', true],
    ['/admin', '/admin/', true],
    ['/admin/', '/admin', true],
    ['/admin', '/administrator', false],
    ['/a/*/c', '/a/b/c', true],
    ['/a/*/c', '/a/b/x/c', false],
    ['/a/**', '/a/b/x/c', true],
    ['/a.b', '/aXb', false],
  ] as const)('%s ~ %s = %s', (pattern, path, expected) => {
    expect(pathMatcher(pattern)(path)).toBe(expected);
    if (pattern.includes('*')) expect(globToRegExp(pattern).test(path)).toBe(expected);
  });
});
