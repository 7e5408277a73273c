import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock } from '../../kernel/clock.ts';
import { EmbeddedStores } from '../../store/embedded/index.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { explain, validatePolicyFile } from '../../policies/cli.ts';
import { DEFAULT_POLICY_FILE } from '../../policies/load.ts';
import { PolicyStore } from '../../policies/policy-store.ts';
import { SubscriptionStore } from '../../policies/subscription-store.ts';

describe('porta policy validate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porta-policy-cli-'));

  it('accepts the default policy', () => {
    const result = validatePolicyFile(DEFAULT_POLICY_FILE, { knownServices: ['oficina', 'agora', 'meetings'] });
    expect(result).toMatchObject({ ok: true, problems: [] });
    expect(result.text).toContain('is a valid policy');
  });

  it('lists every problem with its field', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, readFileSync(DEFAULT_POLICY_FILE, 'utf8').replace('meetingMinutes: 60', 'meetingMinutes: sixty').replace('defaultPlan: free', 'defaultPlan: gratis'));
    const result = validatePolicyFile(file);
    expect(result.ok).toBe(false);
    expect(result.problems.map((p) => p.path)).toEqual(['plans.free.meetingMinutes', 'defaultPlan']);
    expect(result.text).toContain('2 problems');
    expect(result.text).toContain('  - plans.free.meetingMinutes: must be a whole number');
  });

  it('refuses unknown services only when told which exist', () => {
    expect(validatePolicyFile(DEFAULT_POLICY_FILE, { knownServices: ['agora'] }).problems.map((p) => p.path)).toEqual(
      expect.arrayContaining(['rules.0.services.0', 'rateLimits.services.oficina', 'plans.oficina-high.rateLimits.oficina']),
    );
  });

  it('reports a file that cannot be read', () => {
    const result = validatePolicyFile(join(dir, 'missing.yaml'));
    expect(result).toMatchObject({ ok: false, problems: [{ path: '(file)', message: expect.stringContaining('ENOENT') }] });
  });
});

describe('porta policy explain', () => {
  let stores: EmbeddedStores;
  let policies: PolicyStore;
  let text: (account: string, service: string, amr?: string[]) => Promise<string>;

  beforeAll(async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1));
    stores = new EmbeddedStores({ path: ':memory:', clock });
    const directory = new EmbeddedDirectory({ documents: stores.documents, clock });
    policies = await PolicyStore.open({ stores, clock, pollMs: 0 });
    const subscriptions = new SubscriptionStore({ stores, clock, policy: () => policies.current().compiled.document });
    const joan = await directory.createAccount({ username: 'joan', email: 'joan@example.org', name: 'Joan', platformAdmin: true });
    await subscriptions.create({ holder: { account: joan.id }, plan: 'meetings-supporter', from: 0 }, 'admin');
    const services = [{ id: 'oficina', name: 'Oficina' }, { id: 'meetings', name: 'Meetings' }];
    text = (account, service, amr) => explain({ policy: () => policies.current().compiled, directory, subscriptions, services, clock }, { account, service, path: '/settings/admin', amr });
  });
  afterAll(async () => {
    await policies.close();
    await stores.close();
  });

  it('prints the decision, the rule, what would allow, and the limits', async () => {
    const out = await text('joan', 'oficina');
    expect(out).toContain('Account:     joan');
    expect(out).toContain('platform-admin');
    expect(out).toContain('Plans:       free, meetings-supporter');
    expect(out).toContain('Decision:    DENY by rule "oficina-admin-pages" (number 2)');
    expect(out).toContain('Would allow: Access needs signing in with a second factor');
    expect(out).toContain('longest hosted meeting: unlimited');
    expect(out).toContain('recording storage: 1 GB');
    expect(out).toContain('Nextcloud quota claim: "0 B"');
  });

  it('with a second factor the same account is allowed', async () => {
    expect(await text('joan', 'oficina', ['pwd', 'otp'])).toContain('Decision:    ALLOW by rule "oficina-admin-pages-two-factor" (number 1)');
  });

  it('names an unknown account or service', async () => {
    await expect(text('nobody', 'oficina')).rejects.toMatchObject({ status: 404, message: expect.stringContaining('"nobody"') });
    await expect(text('joan', 'wiki')).rejects.toMatchObject({ status: 404, message: expect.stringContaining('Known services: oficina, meetings') });
  });
});
