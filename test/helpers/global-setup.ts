/**
 * Runs once before the suite. Real servers are required, never optional: a missing binary fails the
 * run with the command that installs it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface RequiredServer {
  binary: string;
  /** Where Debian puts it when it is not on a normal user's PATH (sbin). */
  paths: string[];
  install: string;
}

export const REQUIRED_SERVERS: RequiredServer[] = [
  { binary: 'redis-server', paths: [], install: 'apt-get install redis-server' },
  { binary: 'slapd', paths: ['/usr/sbin/slapd'], install: 'apt-get install slapd ldap-utils' },
];

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The servers not found in the folders of `PATH` (nor at their usual places). */
export function missingServers(PATH: string, required: RequiredServer[] = REQUIRED_SERVERS, executable: (file: string) => boolean = isExecutable): RequiredServer[] {
  const dirs = PATH.split(delimiter).filter((d) => d.length > 0);
  return required.filter((r) => !dirs.some((d) => executable(join(d, r.binary))) && !r.paths.some((p) => executable(p)));
}

/** Throws an Error naming the missing servers and how to install them; returns quietly when all are there. */
export function checkTestServers(PATH: string, required: RequiredServer[] = REQUIRED_SERVERS, executable: (file: string) => boolean = isExecutable): void {
  const missing = missingServers(PATH, required, executable);
  if (missing.length > 0) {
    throw new Error(
      `The test suite needs real servers that are not installed: ${missing.map((m) => m.binary).join(', ')}.\n` +
        `Install them with: sudo bash scripts/install-test-deps.sh   (or: ${missing.map((m) => m.install).join(' && ')})`,
    );
  }
}

export default async function globalSetup(): Promise<void> {
  checkTestServers(process.env.PATH ?? '');
}
