import { describe, it, expect, beforeEach, afterEach } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { AppError } from '../../kernel/errors.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { AuditLog } from '../../directory/audit.ts';
import { createPlatformAdmin } from '../../directory/cli/admin-create.ts';
import { importAccounts, parseCsv } from '../../directory/cli/import.ts';

describe('directory CLI pieces', () => {
  let stores: Stores;
  let directory: EmbeddedDirectory;
  let dir: string;
  beforeEach(async () => {
    stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
    directory = new EmbeddedDirectory({ documents: stores.documents });
    dir = mkdtempSync(join(tmpdir(), 'porta-import-'));
  });
  afterEach(async () => {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('createPlatformAdmin bootstraps a verified platform admin who can sign in, and never takes over an account', async () => {
    const audit = new AuditLog(stores.ledger);
    const admin = await createPlatformAdmin(directory, { username: 'Root', email: 'root@example.coop', password: 'a long admin password' }, { audit });
    expect(admin).toMatchObject({ username: 'root', platformAdmin: true, emailVerified: true, name: 'Root' });
    expect((await directory.authenticate('root', 'a long admin password'))?.platformAdmin).toBe(true);
    expect((await audit.list()).items[0]).toMatchObject({ actor: 'system', action: 'account.create' });
    const again = await createPlatformAdmin(directory, { username: 'root', email: 'other@example.coop', password: 'another long password' }).catch((e: unknown) => e);
    expect((again as AppError).status).toBe(409);
    expect(await directory.authenticate('root', 'another long password')).toBeUndefined();
    const weak = await createPlatformAdmin(directory, { username: 'weak', email: 'weak@example.coop', password: 'short' }).catch((e: unknown) => e);
    expect((weak as AppError).fields).toHaveProperty('password');
  });

  it('parses RFC 4180 CSV', () => {
    expect(parseCsv('a,"b,c","d ""q"""\r\n"multi\nline",x,\n')).toEqual([['a', 'b,c', 'd "q"'], ['multi\nline', 'x', '']]);
  });

  it('imports accounts from CSV, skipping and reporting existing and invalid rows', async () => {
    await directory.createAccount({ username: 'taken', email: 'taken@example.org', name: 'T' });
    const file = join(dir, 'people.csv');
    writeFileSync(
      file,
      '\uFEFFusername,email,name,password,emailVerified\n' +
        'anna,Anna@Example.org,"Pla, Anna",a long password 1,yes\n' +
        'bernat,bernat@example.org,Bernat,,\n' +
        'taken,new@example.org,Dup,,\n' +
        'bad*name,bad@example.org,Bad,,\n',
    );
    const report = await importAccounts(directory, file);
    expect(report.total).toBe(4);
    expect(report.created).toBe(2);
    expect(report.skipped.map((s) => s.source)).toEqual(['line 4', 'line 5']);
    expect(report.skipped[1].reason).toMatch(/username/);
    expect(await directory.findAccount('anna@example.org')).toMatchObject({ name: 'Pla, Anna', emailVerified: true });
    expect((await directory.authenticate('anna', 'a long password 1'))?.username).toBe('anna');
    expect((await directory.findAccount('bernat'))?.emailVerified).toBe(false);
  });

  it('refuses a CSV without the required columns', async () => {
    const file = join(dir, 'bad.csv');
    writeFileSync(file, 'user,mail\nx,y\n');
    await expect(importAccounts(directory, file)).rejects.toThrow(/username, email and name/);
  });

  it('imports inetOrgPerson entries from LDIF (folded lines, base64), leaving hashed passwords behind', async () => {
    const file = join(dir, 'people.ldif');
    const name = Buffer.from('Núria Pla').toString('base64');
    writeFileSync(
      file,
      [
        'version: 1',
        '',
        '# the organisation itself is not an account',
        'dn: dc=example,dc=org',
        'objectClass: dcObject',
        'dc: example',
        '',
        'dn: uid=nuria,ou=people,dc=example,dc=org',
        'objectClass: inetOrgPerson',
        'uid: nuria',
        'mail: nuria@exam',
        ' ple.org',
        `cn:: ${name}`,
        'sn: Pla',
        'userPassword: {SSHA}abcdefghijklmnopqrstuvwxyz',
        '',
        'dn: uid=pau,ou=people,dc=example,dc=org',
        'objectClass: person',
        'objectClass: inetOrgPerson',
        'uid: pau',
        'mail: pau@example.org',
        'cn: Pau',
        'userPassword: clear text password',
        '',
      ].join('\n'),
    );
    const report = await importAccounts(directory, file);
    expect(report).toEqual({ total: 2, created: 2, skipped: [] });
    expect(await directory.findAccount('nuria@example.org')).toMatchObject({ username: 'nuria', name: 'Núria Pla' });
    expect(await directory.authenticate('nuria', '{SSHA}abcdefghijklmnopqrstuvwxyz')).toBeUndefined();
    expect((await directory.authenticate('pau', 'clear text password'))?.username).toBe('pau');
  });
});
