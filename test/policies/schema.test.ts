import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY_FILE, loadPolicyFile, InvalidPolicyError } from '../../policies/load.ts';
import { problemFields, validatePolicy } from '../../policies/schema.ts';

const base = () => parse(readFileSync(DEFAULT_POLICY_FILE, 'utf8')) as Record<string, any>;

function fieldsOf(raw: unknown, knownServices?: string[]): Record<string, string> {
  const result = validatePolicy(raw, { knownServices });
  if (result.ok) throw new Error('expected the policy to be refused');
  return problemFields(result.problems);
}

describe('policy schema', () => {
  it('accepts the default policy, with and without the list of known services', () => {
    expect(validatePolicy(base()).ok).toBe(true);
    expect(validatePolicy(base(), { knownServices: ['oficina', 'agora', 'meetings'] }).ok).toBe(true);
  });

  it.each([
    ['a negative size', (d: any) => { d.plans.free.storage = -5; }, 'plans.free.storage', 'must be a size'],
    ['a size in an unknown unit', (d: any) => { d.plans['oficina-basic'].storage = '5 GiB'; }, 'plans.oficina-basic.storage', 'must be a size'],
    ['fractional minutes', (d: any) => { d.plans.free.meetingMinutes = 1.5; }, 'plans.free.meetingMinutes', 'whole number'],
    ['a misspelt key', (d: any) => { d.plans.free.storag = 1; }, 'plans.free.storag', 'unknown key'],
    ['a bad period', (d: any) => { d.plans['oficina-basic'].price.period = 'week'; }, 'plans.oficina-basic.price.period', 'must be "month" or "year"'],
    ['a missing plan name', (d: any) => { delete d.plans.free.name; }, 'plans.free.name', 'is required'],
    ['a default plan that does not exist', (d: any) => { d.defaultPlan = 'gratis'; }, 'defaultPlan', 'not defined'],
    ['a rule naming an unknown plan', (d: any) => { d.rules[3].subjects = [{ plans: ['oficina-huge'] }]; }, 'rules.3.subjects.0.plans.0', 'unknown plan'],
    ['a duplicate rule id', (d: any) => { d.rules[4].id = d.rules[3].id; }, 'rules.4.id', 'duplicate rule id'],
    ['an unknown subject kind', (d: any) => { d.rules[0].subjects = ['everyone']; }, 'rules.0.subjects.0', 'must be public'],
    ['a bad effect', (d: any) => { d.rules[0].effect = 'permit'; }, 'rules.0.effect', 'allow'],
    ['a lower-case method', (d: any) => { d.rules[0].methods = ['get']; }, 'rules.0.methods.0', 'upper case'],
    ['a relative path', (d: any) => { d.rules[0].paths = ['admin']; }, 'rules.0.paths.0', 'must start with /'],
    ['a zero rate limit', (d: any) => { d.rateLimits.default.points = 0; }, 'rateLimits.default.points', 'positive'],
  ])('refuses %s and names the field', (_name, change, path, message) => {
    const doc = base();
    change(doc);
    const fields = fieldsOf(doc);
    expect(Object.keys(fields)).toContain(path);
    expect(fields[path]).toContain(message);
  });

  it('refuses unknown services only when a list of known services is given', () => {
    const doc = base();
    doc.rules[0].services = ['nextcloud'];
    doc.plans['oficina-high'].rateLimits = { oficna: { points: 1, duration: 1 } };
    expect(validatePolicy(doc).ok).toBe(true);
    const fields = fieldsOf(doc, ['oficina', 'agora', 'meetings']);
    expect(fields['rules.0.services.0']).toBe('unknown service "nextcloud"');
    expect(fields['plans.oficina-high.rateLimits.oficna']).toBe('unknown service "oficna"');
  });

  it('loadPolicyFile names the bad field and the file; bad YAML names the line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porta-policy-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, readFileSync(DEFAULT_POLICY_FILE, 'utf8').replace('storage: 5 GB', 'storage: five'));
    expect(() => loadPolicyFile(bad)).toThrow(InvalidPolicyError);
    try {
      loadPolicyFile(bad);
    } catch (error) {
      expect((error as InvalidPolicyError).fields).toHaveProperty(['plans.oficina-medium.storage']);
      expect((error as InvalidPolicyError).status).toBe(400);
    }
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'plans: [\n  - a\n b: c');
    expect(() => loadPolicyFile(broken)).toThrow(/not valid YAML at line/);
  });
});
