import { describe, it, expect } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { DEFAULT_POLICY_FILE, loadPolicyFile, InvalidPolicyError } from '../../policies/load.ts';
import { problemFields, validatePolicy } from '../../policies/schema.ts';
import { defaultDraft as base, edit } from './draft.ts';

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

  // [what, path edited, new value (undefined deletes), field named, part of the message]
  it.each([
    ['a negative size', 'plans.free.storage', -5, 'plans.free.storage', 'must be a size'],
    ['a size in an unknown unit', 'plans.oficina-basic.storage', '5 GiB', 'plans.oficina-basic.storage', 'must be a size'],
    ['fractional minutes', 'plans.free.meetingMinutes', 1.5, 'plans.free.meetingMinutes', 'whole number'],
    ['a misspelt key', 'plans.free.storag', 1, 'plans.free.storag', 'unknown key'],
    ['a bad period', 'plans.oficina-basic.price.period', 'week', 'plans.oficina-basic.price.period', 'must be "month" or "year"'],
    ['a missing plan name', 'plans.free.name', undefined, 'plans.free.name', 'is required'],
    ['a default plan that does not exist', 'defaultPlan', 'gratis', 'defaultPlan', 'not defined'],
    ['a rule naming an unknown plan', 'rules.3.subjects', [{ plans: ['oficina-huge'] }], 'rules.3.subjects.0.plans.0', 'unknown plan'],
    ['a duplicate rule id', 'rules.4.id', 'oficina-storage-plans', 'rules.4.id', 'duplicate rule id'],
    ['an unknown subject kind', 'rules.0.subjects', ['everyone'], 'rules.0.subjects.0', 'must be public'],
    ['a bad effect', 'rules.0.effect', 'permit', 'rules.0.effect', 'allow'],
    ['a lower-case method', 'rules.0.methods', ['get'], 'rules.0.methods.0', 'upper case'],
    ['a relative path', 'rules.0.paths', ['admin'], 'rules.0.paths.0', 'must start with /'],
    ['a zero rate limit', 'rateLimits.default.points', 0, 'rateLimits.default.points', 'positive'],
  ] as const)('refuses %s and names the field', (_name, path, value, field, message) => {
    const fields = fieldsOf(edit(base(), path, value));
    expect(Object.keys(fields)).toContain(field);
    expect(fields[field]).toContain(message);
  });

  it('refuses unknown services only when a list of known services is given', () => {
    const doc = edit(edit(base(), 'rules.0.services', ['nextcloud']), 'plans.oficina-high.rateLimits', { oficna: { points: 1, duration: 1 } });
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
