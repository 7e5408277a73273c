/**
 * Runs once before the suite. Real servers are required, never optional: a missing binary fails the
 * run with the command that installs it.
 */
import { execFileSync } from 'node:child_process';

const REQUIRED: Array<{ binary: string; paths: string[]; install: string }> = [
  { binary: 'redis-server', paths: [], install: 'apt-get install redis-server' },
  { binary: 'slapd', paths: ['/usr/sbin/slapd'], install: 'apt-get install slapd ldap-utils' },
];

function found(binary: string, paths: string[]): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' });
    return true;
  } catch {
    return paths.some((p) => {
      try {
        execFileSync('test', ['-x', p]);
        return true;
      } catch {
        return false;
      }
    });
  }
}

export default async function globalSetup(): Promise<void> {
  const missing = REQUIRED.filter((r) => !found(r.binary, r.paths));
  if (missing.length > 0) {
    throw new Error(
      `The test suite needs real servers that are not installed: ${missing.map((m) => m.binary).join(', ')}.\n` +
        `Install them with: sudo bash scripts/install-test-deps.sh   (or: ${missing.map((m) => m.install).join(' && ')})`,
    );
  }
}
