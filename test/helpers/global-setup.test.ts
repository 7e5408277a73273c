/** The global setup refuses to run the suite without the real servers, and says how to install them. */
import { describe, it, expect, afterAll } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import globalSetup, { checkTestServers, missingServers, REQUIRED_SERVERS } from './global-setup.ts';

const root = mkdtempSync(join(tmpdir(), 'porta-path-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder holding executable stand-ins for the given binaries. */
function binDir(name: string, binaries: string[], mode = 0o755): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const b of binaries) {
    writeFileSync(join(dir, b), '#!/bin/sh\nexit 0\n');
    chmodSync(join(dir, b), mode);
  }
  return dir;
}

describe('global setup check', () => {
  it('fails with the install hint when redis-server is absent from PATH', () => {
    const onlySlapd = binDir('only-slapd', ['slapd']);
    expect(() => checkTestServers(onlySlapd)).toThrow(/not installed: redis-server\./);
    expect(() => checkTestServers(onlySlapd)).toThrow(/sudo bash scripts\/install-test-deps\.sh/);
    expect(() => checkTestServers(onlySlapd)).toThrow(/apt-get install redis-server/);
  });

  it('finds servers in any PATH folder, and slapd in /usr/sbin without PATH', () => {
    const both = [binDir('redis', ['redis-server']), binDir('ldap', ['slapd'])].join(delimiter);
    expect(missingServers(both)).toEqual([]);
    expect(() => checkTestServers(both)).not.toThrow();
    const fakeFs = (file: string) => file === '/usr/sbin/slapd' || file === '/opt/redis/redis-server';
    expect(missingServers('/opt/redis', REQUIRED_SERVERS, fakeFs)).toEqual([]);
    expect(missingServers('', REQUIRED_SERVERS, fakeFs).map((m) => m.binary)).toEqual(['redis-server']);
  });

  it('does not count a file that is not executable', () => {
    const dir = binDir('not-exec', ['redis-server'], 0o644);
    expect(missingServers(dir).map((m) => m.binary)).toEqual(['redis-server']);
  });

  it('names every missing server at once', () => {
    expect(() => checkTestServers('', REQUIRED_SERVERS, () => false)).toThrow(/redis-server, slapd[\s\S]*apt-get install redis-server && apt-get install slapd ldap-utils/);
  });

  it('passes on this machine with its own PATH (the default export)', async () => {
    await expect(globalSetup()).resolves.toBeUndefined();
  });
});
