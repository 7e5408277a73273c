/**
 * What `porta policy validate <file>` and `porta policy explain <account> <service>` do; the CLI
 * (cli/porta.ts) parses arguments, opens the stores and prints what these return.
 */
import { readPolicyFile } from './load.ts';
import { validatePolicy, type PolicyProblem } from './schema.ts';
import { explainAccess, type ExplainDeps, type ExplainQuery } from './explain.ts';

export interface FileValidation {
  ok: boolean;
  problems: PolicyProblem[];
  /** Printable: "policies/x.yaml is valid" or one line per problem. */
  text: string;
}

/** Checks a policy file offline. With `knownServices` (from the configuration) rules may only name those. */
export function validatePolicyFile(file: string, options: { knownServices?: string[] } = {}): FileValidation {
  const read = readPolicyFile(file);
  const problems = read.problems.length > 0 ? read.problems : (() => {
    const result = validatePolicy(read.raw, options);
    return result.ok ? [] : result.problems;
  })();
  const text = problems.length === 0
    ? `${file} is a valid policy.`
    : `${file} is not a valid policy (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n${problems.map((p) => `  - ${p.path}: ${p.message}`).join('\n')}`;
  return { ok: problems.length === 0, problems, text };
}

/** Printable explanation of one account on one service (see explain.ts). */
export async function explain(deps: ExplainDeps, query: ExplainQuery): Promise<string> {
  return (await explainAccess(deps, query)).text;
}
