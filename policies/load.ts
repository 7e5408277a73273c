/** Reading a policy file: YAML (or JSON) on disk → a validated, compiled policy. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { AppError } from '../kernel/errors.ts';
import { compilePolicy, type CompiledPolicy } from './compile.ts';
import { problemFields, validatePolicy, type PolicyProblem, type PolicyValidationOptions } from './schema.ts';
import type { PolicyDocument } from './types.ts';

export const DEFAULT_POLICY_FILE = fileURLToPath(new URL('./default.yaml', import.meta.url));

/** A policy that does not validate; `problems` name each bad field. */
export class InvalidPolicyError extends AppError {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[], where = 'The policy') {
    super(400, 'invalid_policy', `${where} is not valid: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { fields: problemFields(problems) });
    this.name = 'InvalidPolicyError';
    this.problems = problems;
  }
}

/** Reads and parses a file without validating it. Problems with reading or YAML syntax come back as problems. */
export function readPolicyFile(file: string): { raw?: unknown; problems: PolicyProblem[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { problems: [{ path: '(file)', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }] };
  }
  try {
    return { raw: parseYaml(text), problems: [] };
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    return { problems: [{ path: '(file)', message: `not valid YAML${where}: ${(error as Error).message.split('\n')[0]}` }] };
  }
}

export interface LoadedPolicy {
  /** As written (sizes may be strings): what the store keeps so that a revert restores it exactly. */
  raw: unknown;
  document: PolicyDocument;
  compiled: CompiledPolicy;
}

/** Reads, validates and compiles; throws InvalidPolicyError naming every bad field. */
export function loadPolicyFile(file: string = DEFAULT_POLICY_FILE, options: PolicyValidationOptions = {}): LoadedPolicy {
  const read = readPolicyFile(file);
  if (read.problems.length > 0) throw new InvalidPolicyError(read.problems, file);
  const result = validatePolicy(read.raw, options);
  if (!result.ok) throw new InvalidPolicyError(result.problems, file);
  return { raw: read.raw, document: result.policy, compiled: compilePolicy(result.policy) };
}
