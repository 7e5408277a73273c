import { describe, it, expect } from '@jest/globals';
import { readFileSync, readdirSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { parse } from 'yaml';
import { loadConfig, parseConfig, ConfigError } from '../../config/load.ts';
import { renderConfigDoc, CONFIG_DOC_FILE } from '../../config/docs.ts';

function problemsOf(fn: () => unknown): Array<{ key: string; message: string }> {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('configuration', () => {
  it('loads the default file into a frozen, embedded configuration', () => {
    const config = loadConfig({});
    expect(config.store.kind).toBe('embedded');
    expect(config.directory.kind).toBe('embedded');
    expect(config.server.idpPort).toBe(4000);
    expect(config.server.gatewayPort).toBe(8080);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
  });

  it('reports every bad key at once, with its path and reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porta-config-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  idpPort: "not a port"\nstore:\n  knd: redis\n');
    const problems = problemsOf(() => loadConfig({ PORTA_CONFIG: file }));
    const keys = problems.map((p) => p.key);
    expect(keys).toContain('server.idpPort');
    expect(keys).toContain('store.knd');
    expect(problems.find((p) => p.key === 'store.knd')?.message).toMatch(/unknown key/);
  });

  it('applies documented PORTA_* overrides, and a URL alone selects its backend', () => {
    const config = parseConfig({}, { PORTA_STORE_URL: 'redis://127.0.0.1:6390', PORTA_ISSUER: 'https://id.example.coop', PORTA_GATEWAY_PORT: '9000' });
    expect(config.store.kind).toBe('redis');
    expect(config.store.url).toBe('redis://127.0.0.1:6390');
    expect(config.idp.issuer).toBe('https://id.example.coop');
    expect(config.server.gatewayPort).toBe(9000);
  });

  it('names the variable when an override is malformed', () => {
    const problems = problemsOf(() => parseConfig({}, { PORTA_IDP_PORT: 'forty' }));
    expect(problems).toEqual([expect.objectContaining({ key: 'PORTA_IDP_PORT' })]);
  });

  it('requires the settings a chosen backend needs', () => {
    const problems = problemsOf(() => parseConfig({ store: { kind: 'redis' }, directory: { kind: 'ldap' } }));
    expect(problems.map((p) => p.key).sort()).toEqual(['directory.ldap', 'store.url']);
  });

  it('refuses a file that is not YAML, saying where', () => {
    const dir = mkdtempSync(join(tmpdir(), 'porta-config-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'server:\n  idpPort: [1,\n');
    const problems = problemsOf(() => loadConfig({ PORTA_CONFIG: file }));
    expect(problems[0].message).toMatch(/not valid YAML/);
  });

  it('accepts every example in config/examples', () => {
    const dir = new URL('../../config/examples/', import.meta.url);
    const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const raw = parse(readFileSync(new URL(file, dir), 'utf8'));
      // Client examples are fragments of the idp section; full files validate as they are.
      const doc = raw && 'clients' in raw && !('idp' in raw) ? { idp: { clients: raw.clients } } : raw;
      expect(() => parseConfig(doc, {}, file)).not.toThrow();
    }
  });

  it('keeps docs/configuration.md in step with the schema', () => {
    expect(readFileSync(CONFIG_DOC_FILE, 'utf8')).toBe(renderConfigDoc());
  });
});
