/**
 * The policy document's schema. Every object is strict (a misspelt key is an error, not a silent
 * default) and every problem carries the dotted path of the field, e.g. `plans.free.storage`.
 */
import { z } from 'zod';
import { parseSize } from './sizes.ts';
import type { PolicyDocument } from './types.ts';

const ID = /^[a-z0-9][a-z0-9-]*$/;
const id = z.string().regex(ID, 'must be lower-case letters, digits and dashes');

/** Bytes as an integer, or a string such as "5 GB" (binary units); `null` = unlimited. */
const size = z.unknown().optional().transform((value, ctx): number | null => {
  if (value === null) return null;
  if (value === undefined) return 0;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const bytes = parseSize(value);
    if (bytes !== undefined) return bytes;
  }
  ctx.addIssue({ code: 'custom', message: 'must be a size such as "5 GB" or "512 MB", a whole number of bytes, or null for unlimited' });
  return z.NEVER;
}).meta({ anyOf: [{ type: 'integer', minimum: 0 }, { type: 'string', examples: ['5 GB', '512 MB'] }, { type: 'null' }] });

/** A whole number (minutes); `null` = unlimited; absent = 0 (none). */
const count = z
  .number({ error: 'must be a whole number, or null for unlimited' })
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .nullable()
  .default(0);

const period = z.enum(['month', 'year'], { error: 'must be "month" or "year"' });

const rateLimit = z
  .object({
    points: z.number().int().positive('must be a positive whole number').describe('Requests (or cost points) allowed per window.'),
    duration: z.number().int().positive('must be a positive number of seconds').describe('Window length in seconds.'),
  })
  .strict();

const price = z
  .object({
    cents: z.number().int('must be whole cents').min(0, 'must not be negative').describe('Price in cents of euro.'),
    period: period.describe('Billing period.'),
    minimum: z.boolean().optional().describe('The price is a minimum ("from 500 €/year").'),
  })
  .strict();

const plan = z
  .object({
    name: z.string().min(1, 'must not be empty').describe('Name shown to people.'),
    description: z.string().optional().describe('What the plan gives, in a sentence.'),
    price: price.nullable().default(null).describe('What the plan costs; null = free.'),
    holders: z.array(z.enum(['account', 'collective'])).min(1).default(['account', 'collective']).describe('Who may subscribe.'),
    storage: size.describe('Oficina storage quota; null = unlimited, 0 = none.'),
    meetingMinutes: count.describe('Longest meeting the holder may host, in minutes; null = unlimited, 0 = may not host.'),
    hostedMinutesPerDay: count.describe('Hosted meeting minutes per day; null = unlimited.'),
    recordingStorage: size.describe('Storage for meeting recordings; null = unlimited.'),
    rateLimits: z.record(id, rateLimit).default({}).describe('Rate limits by service id, replacing the policy-wide ones for holders of this plan.'),
  })
  .strict();

const subject = z.union(
  [
    z.enum(['public', 'authenticated', 'platform-admins', 'managers', 'grants']),
    z.object({ plans: z.array(id).min(1, 'must name at least one plan') }).strict(),
    z.object({ collectives: z.array(id).min(1, 'must name at least one collective') }).strict(),
  ],
  { error: 'must be public, authenticated, platform-admins, managers, grants, { plans: [...] } or { collectives: [...] }' },
);

const GLOB_OR_PATH = /^\/[^\s]*$/;

const rule = z
  .object({
    id: id.describe('Stable id shown in decisions and logs.'),
    description: z.string().optional().describe('Why the rule exists.'),
    services: z.array(id).min(1, 'leave out to match every service').optional().describe('Service ids; absent = every service.'),
    methods: z
      .array(z.string().regex(/^[A-Z]+$/, 'must be an HTTP method in upper case, e.g. GET'))
      .min(1, 'leave out to match every method')
      .optional()
      .describe('HTTP methods; absent = every method.'),
    paths: z
      .array(z.string().regex(GLOB_OR_PATH, 'must start with / and contain no spaces'))
      .min(1, 'leave out to match every path')
      .optional()
      .describe('Path prefixes or globs (`*` within a segment, `**` across segments); absent = every path.'),
    subjects: z.array(subject).min(1, 'must name at least one subject (use public for anyone)').describe('Who the rule is about: any one of these.'),
    factors: z.enum(['any', 'two'], { error: 'must be "any" or "two"' }).optional().describe('`two` requires a login with a second factor (otp or hwk).'),
    effect: z.enum(['allow', 'deny'], { error: 'must be "allow" or "deny"' }).describe('What happens when the rule matches.'),
    reason: z.string().optional().describe('Shown to the person when this rule denies.'),
  })
  .strict();

/** Who must sign in with a second factor (TOTP or a passkey); everyone else may choose to. */
const secondFactor = z
  .object({
    requiredForRoles: z
      .array(z.enum(['platform-admin', 'manager', 'member'], { error: 'must be platform-admin, manager or member' }))
      .default(['platform-admin', 'manager'])
      .describe('Roles whose holders must use a second factor.'),
    requiredForPlans: z.array(id).default([]).describe('Holders of these plans must use a second factor.'),
    requiredForCollectives: z.array(id).default([]).describe('Members of these collectives must use a second factor.'),
  })
  .strict()
  .default({ requiredForRoles: ['platform-admin', 'manager'], requiredForPlans: [], requiredForCollectives: [] })
  .describe('Who must enrol a second factor; they are guided through enrolment at their next sign-in.');

export interface PolicyValidationOptions {
  /** When given, rules and rate limits may only name these service ids. */
  knownServices?: string[];
}

/** The schema of the document's shape; cross-references are checked by `referenceProblems`. */
export function policySchema() {
  return z
    .object({
      defaultPlan: id.describe('The plan every account holds, with or without a subscription.'),
      plans: z.record(id, plan).describe('Plans by id.'),
      extraStorageBlock: z
        .object({
          bytes: size.describe('Size of one block.'),
          priceCents: z.number().int().min(0, 'must not be negative').describe('Price of one block in cents.'),
          period: period.describe('Billing period.'),
        })
        .strict()
        .nullable()
        .default(null)
        .describe('Storage that can be bought on top of a plan, in blocks.'),
      rateLimits: z
        .object({
          default: rateLimit.optional().describe('For every service not listed; absent = no limit.'),
          services: z.record(id, rateLimit).default({}).describe('By service id.'),
        })
        .strict()
        .default({ services: {} })
        .describe('Rate limits per account (per client address when anonymous).'),
      rules: z.array(rule).describe('Access rules in order: the first that matches decides; none = deny.'),
      secondFactor: secondFactor,
    })
    .strict();
}

/** What an admin writes (sizes may be strings); stored as given so that a revert restores it exactly. */
export type PolicyInput = z.input<ReturnType<typeof policySchema>>;

/** One problem: the dotted path of the field and why. */
export interface PolicyProblem {
  path: string;
  message: string;
}

type Path = Array<string | number>;

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * References between parts of the document (default plan, plans named by rules, duplicate rule
 * ids, service ids). Runs on the raw document, defensively, so that these problems are reported
 * together with shape problems elsewhere in the same pass.
 */
function referenceProblems(raw: Record<string, unknown>, options: PolicyValidationOptions): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const add = (path: Path, message: string) => problems.push({ path: path.join('.'), message });
  const plans = isRecord(raw.plans) ? raw.plans : undefined;
  const planIds = new Set(plans ? Object.keys(plans) : []);
  if (plans && typeof raw.defaultPlan === 'string' && !planIds.has(raw.defaultPlan)) add(['defaultPlan'], `names plan "${raw.defaultPlan}", which is not defined under plans`);
  const known = options.knownServices ? new Set(options.knownServices) : undefined;
  const service = (id: unknown, path: Path) => {
    if (known && typeof id === 'string' && !known.has(id)) add(path, `unknown service "${id}"`);
  };
  if (Array.isArray(raw.rules)) {
    const seen = new Map<string, number>();
    raw.rules.forEach((rule: unknown, index) => {
      if (!isRecord(rule)) return;
      if (typeof rule.id === 'string') {
        const first = seen.get(rule.id);
        if (first !== undefined) add(['rules', index, 'id'], `duplicate rule id "${rule.id}" (also rules.${first})`);
        else seen.set(rule.id, index);
      }
      if (Array.isArray(rule.services)) rule.services.forEach((s: unknown, i) => service(s, ['rules', index, 'services', i]));
      if (Array.isArray(rule.subjects) && plans) {
        rule.subjects.forEach((subject: unknown, i) => {
          if (isRecord(subject) && Array.isArray(subject.plans)) {
            subject.plans.forEach((p: unknown, j) => {
              if (typeof p === 'string' && !planIds.has(p)) add(['rules', index, 'subjects', i, 'plans', j], `unknown plan "${p}"`);
            });
          }
        });
      }
    });
  }
  if (isRecord(raw.rateLimits) && isRecord(raw.rateLimits.services)) {
    for (const id of Object.keys(raw.rateLimits.services)) service(id, ['rateLimits', 'services', id]);
  }
  if (plans) {
    for (const [planId, plan] of Object.entries(plans)) {
      if (isRecord(plan) && isRecord(plan.rateLimits)) for (const id of Object.keys(plan.rateLimits)) service(id, ['plans', planId, 'rateLimits', id]);
    }
  }
  return problems;
}

/** Every service id a (raw) document names: in rules and in rate limits. */
export function referencedServices(raw: unknown): Set<string> {
  const found = new Set<string>();
  if (!isRecord(raw)) return found;
  const add = (id: unknown) => {
    if (typeof id === 'string') found.add(id);
  };
  if (Array.isArray(raw.rules)) for (const rule of raw.rules) if (isRecord(rule) && Array.isArray(rule.services)) rule.services.forEach(add);
  if (isRecord(raw.rateLimits) && isRecord(raw.rateLimits.services)) Object.keys(raw.rateLimits.services).forEach(add);
  if (isRecord(raw.plans)) for (const plan of Object.values(raw.plans)) if (isRecord(plan) && isRecord(plan.rateLimits)) Object.keys(plan.rateLimits).forEach(add);
  return found;
}

export type PolicyValidation = { ok: true; policy: PolicyDocument } | { ok: false; problems: PolicyProblem[] };

function present(raw: unknown, path: PropertyKey[]): boolean {
  let node: unknown = raw;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return false;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node !== undefined;
}

function problemsOf(issues: z.core.$ZodIssue[], raw: unknown): PolicyProblem[] {
  return issues.map((issue) => {
    const base = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') {
      return { path: issue.keys.map((k) => [...base, k].join('.')).join(', '), message: 'unknown key (check the spelling)' };
    }
    const path = base.length ? base.join('.') : '(document)';
    const message = issue.code === 'invalid_type' && !present(raw, issue.path) ? 'is required' : issue.message;
    return { path, message };
  });
}

/** Validates a parsed document; never throws. */
export function validatePolicy(raw: unknown, options: PolicyValidationOptions = {}): PolicyValidation {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { ok: false, problems: [{ path: '(document)', message: 'must be a mapping with defaultPlan, plans and rules' }] };
  }
  const result = policySchema().safeParse(raw);
  const problems = [...(result.success ? [] : problemsOf(result.error.issues, raw)), ...referenceProblems(raw as Record<string, unknown>, options)];
  if (result.success && problems.length === 0) return { ok: true, policy: result.data as PolicyDocument };
  return { ok: false, problems };
}

/** `{ "plans.free.storage": "must be …" }` for API error bodies. */
export function problemFields(problems: PolicyProblem[]): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const p of problems) fields[p.path] = fields[p.path] ? `${fields[p.path]}; ${p.message}` : p.message;
  return fields;
}
