/** The `porta` sub-commands as an operator types them, each a real process on a fresh data folder. */
import { describe, it, expect } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

async function porta(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['cli/porta.ts', ...args], { cwd: ROOT, env: { ...process.env, PORTA_LOG_LEVEL: 'silent', ...env } });
    return { code: 0, out: stdout + stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('porta commands', () => {
  it('bootstraps a platform admin, imports accounts, explains a decision and prints a report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'porta-cli-'));
    const config = join(dir, 'porta.yaml');
    writeFileSync(config, `dataDir: ${dir}\nservices:\n  - id: agora\n    name: Agora\n    upstream: http://127.0.0.1:9\n`);
    const env = { PORTA_CONFIG: config };

    const created = await porta(['admin', 'create', '--username', 'admin', '--email', 'admin@example.coop'], { ...env, PORTA_ADMIN_PASSWORD: 'a long passphrase' });
    expect(created).toMatchObject({ code: 0 });
    expect(created.out).toMatch(/Platform admin admin created/);
    const again = await porta(['admin', 'create', '--username', 'admin', '--email', 'other@example.coop'], { ...env, PORTA_ADMIN_PASSWORD: 'a long passphrase' });
    expect(again.code).toBe(1);

    const csv = join(dir, 'people.csv');
    writeFileSync(csv, 'username,email,name\nanna,anna@example.coop,Anna\nbad name,x,Y\n');
    const imported = await porta(['import', csv], env);
    expect(imported.code).toBe(1); // one row skipped, and said so
    expect(imported.out).toMatch(/1 of 2 accounts created/);

    const explained = await porta(['policy', 'explain', 'anna', 'agora'], env);
    expect(explained.code).toBe(0);
    expect(explained.out).toMatch(/allow/i);

    const report = await porta(['report', '--period', '2026-11', '--format', 'csv'], env);
    expect(report.code).toBe(0);
    expect(report.out.split('\n')[0]).toMatch(/^period,/);
  }, 60000);

  it('validates a policy file offline and refuses a bad one with the field named', async () => {
    expect((await porta(['policy', 'validate', 'policies/default.yaml'], {})).code).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'porta-cli-'));
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'defaultPlan: gold\nplans: {}\nrules: []\n');
    const refused = await porta(['policy', 'validate', bad], {});
    expect(refused.code).toBe(2);
    expect(refused.out).toMatch(/defaultPlan/);
  });

  it('refuses unknown commands with the usage and exit code 2', async () => {
    const result = await porta(['frobnicate'], {});
    expect(result.code).toBe(2);
    expect(result.out).toMatch(/Usage: porta/);
  });
});
