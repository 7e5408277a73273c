/**
 * Generates docs/configuration.md from the configuration schema, so the reference can never drift
 * from what is validated. `npm run docs:config` rewrites it; a test fails when it is stale.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { configSchema } from './schema/index.ts';
import { ENV_OVERRIDES } from './env.ts';

export const CONFIG_DOC_FILE = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));

interface JsonSchema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  pattern?: string;
  format?: string;
}

function typeOf(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.type === 'array') return `list of ${s.items ? typeOf(s.items) : 'values'}`;
  if (s.format === 'uri') return 'URL';
  return Array.isArray(s.type) ? s.type.join(' \\| ') : (s.type ?? 'value');
}

function rows(schema: JsonSchema, path: string, out: string[]): void {
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    const keyPath = path ? `${path}.${key}` : key;
    const def = child.default === undefined || (typeof child.default === 'object' && child.default !== null && !Array.isArray(child.default)) ? '' : `\`${JSON.stringify(child.default)}\``;
    out.push(`| \`${keyPath}\` | ${typeOf(child)} | ${def} | ${(child.description ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
    if (child.properties) rows(child, keyPath, out);
    if (child.type === 'array' && child.items?.properties) rows(child.items, `${keyPath}[]`, out);
  }
}

export function renderConfigDoc(): string {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const table: string[] = ['| key | type | default | meaning |', '| --- | --- | --- | --- |'];
  rows(schema, '', table);
  const env = ['| variable | sets | meaning |', '| --- | --- | --- |', ...ENV_OVERRIDES.map((o) => `| \`${o.variable}\` | \`${o.path.join('.')}\` | ${o.description} |`)];
  return [
    '# Configuration reference',
    '',
    '<!-- Generated from config/schema by `npm run docs:config`; do not edit by hand. -->',
    '',
    'Porta reads one YAML file: the one named by `PORTA_CONFIG`, or `config/default.yaml`.',
    'Every key is checked at start-up; unknown keys and bad values stop Porta with exit code 2, naming each key and the reason.',
    '`npm run porta -- check-config` checks a file without starting anything.',
    '',
    '## Keys',
    '',
    ...table,
    '',
    '## Environment variables',
    '',
    'These override the file. Secrets are best given this way rather than written in the file.',
    '',
    ...env,
    '',
  ].join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const text = renderConfigDoc();
  if (process.argv.includes('--write')) writeFileSync(CONFIG_DOC_FILE, text);
  else if (readFileSync(CONFIG_DOC_FILE, 'utf8') !== text) {
    process.stderr.write('docs/configuration.md is stale: run npm run docs:config\n');
    process.exit(1);
  }
}
