import { describe, it, expect } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

describe('admin UI sources', () => {
  it('type-check from their JSDoc (tsc -p admin-ui/web, strict)', () => {
    const run = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'admin-ui/web'], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stdout + run.stderr).toBe('');
    expect(run.status).toBe(0);
  }, 60_000);
});
