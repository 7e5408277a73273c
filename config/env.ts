/**
 * Environment variables that override keys of the configuration file. Kept as an explicit table so
 * that every variable is documented (docs/configuration.md is generated from it) and nothing else in
 * the environment can change the configuration by accident.
 */
export interface EnvOverride {
  variable: string;
  path: string[];
  type: 'string' | 'number' | 'boolean' | 'list';
  description: string;
}

export const ENV_OVERRIDES: EnvOverride[] = [
  { variable: 'PORTA_HOST', path: ['server', 'host'], type: 'string', description: 'Address the listeners bind to.' },
  { variable: 'PORTA_IDP_PORT', path: ['server', 'idpPort'], type: 'number', description: 'Port of the identity provider.' },
  { variable: 'PORTA_GATEWAY_PORT', path: ['server', 'gatewayPort'], type: 'number', description: 'Port of the gateway.' },
  { variable: 'PORTA_TRUSTED_PROXIES', path: ['server', 'trustedProxies'], type: 'list', description: 'Comma-separated trusted proxy addresses.' },
  { variable: 'PORTA_LOG_LEVEL', path: ['log', 'level'], type: 'string', description: 'Log level.' },
  { variable: 'PORTA_STORE_KIND', path: ['store', 'kind'], type: 'string', description: '`embedded` or `redis`.' },
  { variable: 'PORTA_STORE_URL', path: ['store', 'url'], type: 'string', description: 'Redis URL; setting it alone also selects the redis store.' },
  { variable: 'PORTA_STORE_PATH', path: ['store', 'path'], type: 'string', description: 'SQLite file of the embedded store.' },
  { variable: 'PORTA_DIRECTORY_KIND', path: ['directory', 'kind'], type: 'string', description: '`embedded` or `ldap`.' },
  { variable: 'PORTA_DIRECTORY_URL', path: ['directory', 'ldap', 'url'], type: 'string', description: 'LDAP URL; setting it alone also selects the ldap directory.' },
  { variable: 'PORTA_LDAP_BIND_DN', path: ['directory', 'ldap', 'bindDn'], type: 'string', description: 'DN Porta binds as.' },
  { variable: 'PORTA_LDAP_BIND_PASSWORD', path: ['directory', 'ldap', 'bindPassword'], type: 'string', description: 'Its password.' },
  { variable: 'PORTA_LDAP_BASE_DN', path: ['directory', 'ldap', 'baseDn'], type: 'string', description: 'Base DN of the directory.' },
  { variable: 'PORTA_ISSUER', path: ['idp', 'issuer'], type: 'string', description: 'Public URL of the identity provider.' },
  { variable: 'PORTA_COOKIE_KEYS', path: ['idp', 'cookieKeys'], type: 'list', description: 'Comma-separated IdP cookie keys (newest first).' },
  { variable: 'PORTA_GATEWAY_URL', path: ['gateway', 'publicUrl'], type: 'string', description: 'Public URL of the gateway.' },
  { variable: 'PORTA_GATEWAY_CLIENT_SECRET', path: ['gateway', 'clientSecret'], type: 'string', description: 'OIDC client secret of the gateway.' },
  { variable: 'PORTA_SMTP_URL', path: ['mail', 'smtpUrl'], type: 'string', description: 'SMTP server URL.' },
  { variable: 'PORTA_DATA_DIR', path: ['dataDir'], type: 'string', description: 'Folder for local state.' },
];

/** Selections implied by a URL variable alone (PORTA_STORE_URL=redis://… means the redis store). */
const IMPLIED: Array<{ when: string; path: string[]; value: string }> = [
  { when: 'PORTA_STORE_URL', path: ['store', 'kind'], value: 'redis' },
  { when: 'PORTA_DIRECTORY_URL', path: ['directory', 'kind'], value: 'ldap' },
];

export interface EnvProblem {
  variable: string;
  message: string;
}

function setPath(target: Record<string, unknown>, path: string[], value: unknown): void {
  let node = target;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

function parseValue(raw: string, type: EnvOverride['type']): unknown {
  switch (type) {
    case 'number':
      return /^-?\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
    case 'boolean':
      return ['1', 'true', 'yes'].includes(raw.toLowerCase());
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter(Boolean);
    default:
      return raw;
  }
}

/** Applies PORTA_* variables onto the raw (unvalidated) file contents. */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): EnvProblem[] {
  const problems: EnvProblem[] = [];
  for (const implied of IMPLIED) {
    const explicitKind = ENV_OVERRIDES.find((o) => o.path.join('.') === implied.path.join('.'));
    if (env[implied.when] && !(explicitKind && env[explicitKind.variable])) setPath(raw, implied.path, implied.value);
  }
  for (const override of ENV_OVERRIDES) {
    const value = env[override.variable];
    if (value === undefined || value === '') continue;
    const parsed = parseValue(value, override.type);
    if (typeof parsed === 'number' && Number.isNaN(parsed)) {
      problems.push({ variable: override.variable, message: `must be a whole number, got "${value}"` });
      continue;
    }
    setPath(raw, override.path, parsed);
  }
  return problems;
}
