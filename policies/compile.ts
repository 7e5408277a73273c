/**
 * Rules → matcher objects (Authelia's AccessControlRule idea). A compiled rule is a list of small
 * predicates; it matches when all of them do. Each predicate can also say, in words, what it needs,
 * which `decide` uses to tell a refused person what would let them in.
 */
import type { Identity, PolicyDocument, Plan, Request, Rule, Service, Subject } from './types.ts';

/** Everything a matcher looks at. `plans` already includes the default plan for accounts. */
export interface MatchInput {
  identity: Identity;
  plans: string[];
  service: Service;
  request: Request;
}

/** One predicate of a rule. `target` ones select the request; the others are about who asks. */
export interface Matcher {
  kind: 'target' | 'subject';
  test(input: MatchInput): boolean;
  /**
   * What satisfies this matcher, e.g. "a subscription to Oficina basic or Oficina medium";
   * undefined when it is nothing a person can obtain (becoming a platform admin).
   */
  needs(input: MatchInput): string | undefined;
}

export interface CompiledRule {
  rule: Rule;
  /** 1-based position in the document, as shown to admins. */
  position: number;
  matchers: Matcher[];
}

export interface CompiledPolicy {
  document: PolicyDocument;
  rules: CompiledRule[];
}

const SECOND_FACTORS = new Set(['otp', 'hwk']);

export function hasSecondFactor(identity: Identity): boolean {
  return identity.amr.some((method) => SECOND_FACTORS.has(method));
}

function escapeRegex(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** `*` matches within one path segment, `**` across segments. */
export function globToRegExp(glob: string): RegExp {
  const source = glob
    .split('**')
    .map((part) => part.split('*').map(escapeRegex).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${source}$`);
}

/**
 * A path pattern without `*` is a prefix on segment boundaries: `/admin` matches `/admin`,
 * `/admin/` and `/admin/users`, but not `/administrator`.
 */
export function pathMatcher(pattern: string): (path: string) => boolean {
  if (pattern.includes('*')) {
    const regex = globToRegExp(pattern);
    return (path) => regex.test(path);
  }
  if (pattern.endsWith('/')) return (path) => path.startsWith(pattern) || path === pattern.slice(0, -1);
  return (path) => path === pattern || path.startsWith(`${pattern}/`);
}

function list(names: string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`;
}

function planName(plans: Record<string, Plan>, id: string): string {
  return plans[id]?.name ?? id;
}

type SubjectMatcher = Pick<Matcher, 'test' | 'needs'>;

function subjectMatcher(subject: Subject, plans: Record<string, Plan>): SubjectMatcher {
  const make = (test: Matcher['test'], needs: string | Matcher['needs'] | undefined): SubjectMatcher => ({
    test,
    needs: typeof needs === 'function' ? needs : () => needs,
  });
  if (typeof subject === 'object') {
    if ('plans' in subject) {
      const wanted = new Set(subject.plans);
      return make(({ identity, plans: held }) => identity.subject !== undefined && held.some((p) => wanted.has(p)), `a subscription to ${list(subject.plans.map((p) => planName(plans, p)))}`);
    }
    const wanted = new Set(subject.collectives);
    return make(({ identity }) => identity.subject !== undefined && identity.collectives.some((c) => wanted.has(c)), `membership of the collective ${list(subject.collectives)}`);
  }
  switch (subject) {
    case 'public':
      return make(() => true, undefined);
    case 'authenticated':
      return make(({ identity }) => identity.subject !== undefined, 'signing in');
    case 'platform-admins':
      return make(({ identity }) => identity.subject !== undefined && identity.roles.includes('platform-admin'), undefined);
    case 'managers':
      return make(({ identity }) => identity.subject !== undefined && identity.roles.includes('manager'), 'being a manager of a collective');
    case 'grants':
      return make(
        ({ identity, service }) => identity.subject !== undefined && Object.values(identity.grants).some((services) => services.includes(service.id)),
        // Only a dedicated service is something a collective grants.
        ({ service }) => (service.dedicated ? 'a collective granting you this service' : undefined),
      );
  }
}

function compileRule(rule: Rule, index: number, plans: Record<string, Plan>): CompiledRule {
  const matchers: Matcher[] = [];
  if (rule.services) {
    const services = new Set(rule.services);
    matchers.push({ kind: 'target', test: ({ service }) => services.has(service.id), needs: () => `one of the services ${list(rule.services ?? [])}` });
  }
  if (rule.methods) {
    const methods = new Set(rule.methods);
    matchers.push({ kind: 'target', test: ({ request }) => methods.has(request.method.toUpperCase()), needs: () => `method ${list(rule.methods ?? [])}` });
  }
  if (rule.paths) {
    const tests = rule.paths.map(pathMatcher);
    matchers.push({ kind: 'target', test: ({ request }) => tests.some((t) => t(request.path)), needs: () => `a path under ${list(rule.paths ?? [])}` });
  }
  const subjects = rule.subjects.map((s) => subjectMatcher(s, plans));
  matchers.push({
    kind: 'subject',
    test: (input) => subjects.some((s) => s.test(input)),
    needs: (input) => {
      const options = subjects.map((s) => s.needs(input)).filter((n): n is string => n !== undefined);
      return options.length > 0 ? list(options) : undefined;
    },
  });
  if (rule.factors === 'two') {
    matchers.push({ kind: 'subject', test: ({ identity }) => hasSecondFactor(identity), needs: () => 'signing in with a second factor (a one-time code or a security key)' });
  }
  return { rule, position: index + 1, matchers };
}

/** Compiles a validated document once; the result is shared by every decision until the next change. */
export function compilePolicy(document: PolicyDocument): CompiledPolicy {
  return { document, rules: document.rules.map((rule, index) => compileRule(rule, index, document.plans)) };
}
