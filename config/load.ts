import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { configSchema, type PortaConfig } from './schema/index.ts';
import { applyEnvOverrides } from './env.ts';

export const DEFAULT_CONFIG_FILE = fileURLToPath(new URL('./default.yaml', import.meta.url));

/** One problem with the configuration: where (a dotted key path or a variable) and why. */
export interface ConfigProblem {
  key: string;
  message: string;
}

/** Every problem of a configuration at once, so an operator fixes them in one go. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[];
  readonly file: string;
  constructor(file: string, problems: ConfigProblem[]) {
    super(`Invalid configuration in ${file}:\n${problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`);
    this.name = 'ConfigError';
    this.file = file;
    this.problems = problems;
  }
}

function issueKey(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => [...path, k].join('.')).join(', ');
  return path.length ? path.join('.') : '(top level)';
}

function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') return `unknown key${issue.keys.length > 1 ? 's' : ''} (check the spelling against docs/configuration.md)`;
  return issue.message;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Validates an already parsed document (plus environment overrides) into a frozen, typed config. */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = {}, file = '(inline)'): PortaConfig {
  const problems: ConfigProblem[] = [];
  const doc: Record<string, unknown> = raw && typeof raw === 'object' && !Array.isArray(raw) ? structuredClone(raw as Record<string, unknown>) : {};
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    problems.push({ key: '(top level)', message: 'must be a mapping of keys to values' });
  }
  for (const p of applyEnvOverrides(doc, env)) problems.push({ key: p.variable, message: p.message });
  const result = configSchema.safeParse(doc);
  if (!result.success) for (const issue of result.error.issues) problems.push({ key: issueKey(issue), message: issueMessage(issue) });
  if (problems.length > 0 || !result.success) throw new ConfigError(file, problems);
  return deepFreeze(result.data);
}

/** Reads the file named by PORTA_CONFIG (or the default), applies PORTA_* variables, validates. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): PortaConfig {
  const file = env.PORTA_CONFIG || DEFAULT_CONFIG_FILE;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [{ key: 'PORTA_CONFIG', message: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` }]);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` at line ${error.linePos[0].line}` : '';
    throw new ConfigError(file, [{ key: '(file)', message: `not valid YAML${where}: ${(error as Error).message.split('\n')[0]}` }]);
  }
  return parseConfig(raw, env, file);
}
