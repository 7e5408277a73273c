/**
 * The contract every Directory implementation passes (embedded and LDAP). Each test uses names of its
 * own, so one directory instance serves the whole suite.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { AppError } from '../../kernel/errors.ts';
import type { Directory } from '../../directory/types.ts';

export const CONTRACT_SERVICES = ['oficina', 'agora', 'meet'];

export interface DirectoryFixture {
  directory: Directory;
  teardown?: () => Promise<void>;
}

const PASSWORD = 'correct horse battery';

async function rejection(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }
  throw new Error('expected a rejection');
}

export function runDirectoryContract(name: string, makeDirectory: () => Promise<DirectoryFixture>): void {
  describe(`Directory contract: ${name}`, () => {
    let fixture: DirectoryFixture;
    let dir: Directory;
    let n = 0;
    const unique = (prefix: string) => `${prefix}${Date.now().toString(36)}${(n++).toString(36)}`;
    const newAccount = async (prefix = 'user', extra: { password?: string; platformAdmin?: boolean; emailVerified?: boolean } = {}) => {
      const username = unique(prefix);
      return dir.createAccount({ username, email: `${username}@example.org`, name: `Name ${username}`, password: PASSWORD, ...extra });
    };

    beforeAll(async () => {
      fixture = await makeDirectory();
      dir = fixture.directory;
    });
    afterAll(async () => {
      await dir?.close();
      await fixture?.teardown?.();
    });

    describe('accounts', () => {
      it('creates an account with normalised username and email and finds it by either, in any case', async () => {
        const base = unique('norm');
        const created = await dir.createAccount({ username: `  ${base.toUpperCase()} `, email: ` ${base.toUpperCase()}@Example.ORG `, name: 'Núria Pla', password: PASSWORD });
        expect(created.username).toBe(base);
        expect(created.email).toBe(`${base}@example.org`);
        expect(created.name).toBe('Núria Pla');
        expect(created.status).toBe('active');
        expect(created.platformAdmin).toBe(false);
        expect(created.emailVerified).toBe(false);
        expect(created.id).toBeTruthy();
        expect((await dir.getAccount(created.id))?.username).toBe(base);
        expect((await dir.findAccount(base.toUpperCase()))?.id).toBe(created.id);
        expect((await dir.findAccount(`${base}@EXAMPLE.org`))?.id).toBe(created.id);
      });

      it('normalises Unicode compatibility forms (NFKC) so look-alike fullwidth input finds the same account', async () => {
        const account = await newAccount('nfkc');
        const fullwidth = [...account.username].map((c) => (/[a-z]/.test(c) ? String.fromCharCode(c.charCodeAt(0) + 0xfee0) : c)).join('');
        expect(fullwidth).not.toBe(account.username);
        expect((await dir.findAccount(fullwidth))?.id).toBe(account.id);
      });

      it('refuses invalid usernames and emails, naming the field', async () => {
        const bad = await rejection(dir.createAccount({ username: 'a*b', email: 'ab@example.org', name: 'X', password: PASSWORD }));
        expect(bad.status).toBe(400);
        expect(bad.fields).toHaveProperty('username');
        const badEmail = await rejection(dir.createAccount({ username: unique('mail'), email: 'not-an-address', name: 'X', password: PASSWORD }));
        expect(badEmail.fields).toHaveProperty('email');
        const weak = await rejection(dir.createAccount({ username: unique('pw'), email: `${unique('pw')}@example.org`, name: 'X', password: 'short' }));
        expect(weak.fields).toHaveProperty('password');
      });

      it('keeps usernames and emails unique whatever their case', async () => {
        const account = await newAccount('uniq');
        const sameName = await rejection(dir.createAccount({ username: account.username.toUpperCase(), email: `${unique('other')}@example.org`, name: 'X', password: PASSWORD }));
        expect(sameName.status).toBe(409);
        expect(sameName.code).toBe('username_taken');
        const sameEmail = await rejection(dir.createAccount({ username: unique('other'), email: account.email.toUpperCase(), name: 'X', password: PASSWORD }));
        expect(sameEmail.status).toBe(409);
        expect(sameEmail.code).toBe('email_taken');
        const other = await newAccount('uniq');
        const update = await rejection(dir.updateAccount(other.id, { email: account.email }));
        expect(update.code).toBe('email_taken');
      });

      it('authenticates by username or email with the right password only', async () => {
        const account = await newAccount('auth');
        expect((await dir.authenticate(account.username, PASSWORD))?.id).toBe(account.id);
        expect((await dir.authenticate(account.email.toUpperCase(), PASSWORD))?.id).toBe(account.id);
        expect(await dir.authenticate(account.username, 'wrong password here')).toBeUndefined();
        expect(await dir.authenticate(account.username, '')).toBeUndefined();
        expect(await dir.authenticate(unique('nobody'), PASSWORD)).toBeUndefined();
        expect(await dir.authenticate('', PASSWORD)).toBeUndefined();
      });

      it('LDAP filter metacharacters in a login or search term match nothing they should not', async () => {
        const account = await newAccount('meta');
        const u = account.username;
        const hostile = ['*', `${u.slice(0, 3)}*`, `*${u.slice(2)}`, `${u})(uid=*`, `*)(|(uid=*`, `${u}\\`, `${u}\\2a`, `${u}\u0000`, `${u}\u0000*`, '(', ')', '\\', `(uid=${u})`, `${u}*)(mail=*`];
        for (const login of hostile) {
          expect(await dir.findAccount(login)).toBeUndefined();
          expect(await dir.authenticate(login, PASSWORD)).toBeUndefined();
        }
        for (const query of ['*', '(', ')', '\\', '\u0000', '*)(objectClass=*', `${u.slice(0, 4)}*`]) {
          const page = await dir.searchAccounts({ query });
          expect(page.items).toEqual([]);
          expect(page.total).toBe(0);
        }
        const found = await dir.searchAccounts({ query: u });
        expect(found.items.map((a) => a.id)).toEqual([account.id]);
        expect(await dir.getAccount('*')).toBeUndefined();
        expect(await dir.getAccount(`${account.id})(objectClass=*`)).toBeUndefined();
        expect(await dir.authenticate(u, '*')).toBeUndefined();
      });

      it('suspension blocks authenticate; reactivation restores it', async () => {
        const account = await newAccount('susp');
        const suspended = await dir.updateAccount(account.id, { status: 'suspended' });
        expect(suspended.status).toBe('suspended');
        expect((await dir.getAccount(account.id))?.status).toBe('suspended');
        expect(await dir.authenticate(account.username, PASSWORD)).toBeUndefined();
        await dir.updateAccount(account.id, { status: 'active' });
        expect((await dir.authenticate(account.username, PASSWORD))?.id).toBe(account.id);
      });

      it('changes email (unverified again, old address free), name, flags and password', async () => {
        const account = await newAccount('upd', { emailVerified: true });
        expect(account.emailVerified).toBe(true);
        const newEmail = `${unique('moved')}@example.org`;
        const updated = await dir.updateAccount(account.id, { email: newEmail.toUpperCase(), name: 'New Name' });
        expect(updated.email).toBe(newEmail);
        expect(updated.emailVerified).toBe(false);
        expect(updated.name).toBe('New Name');
        expect((await dir.findAccount(newEmail))?.id).toBe(account.id);
        expect(await dir.findAccount(account.email)).toBeUndefined();
        expect((await dir.updateAccount(account.id, { emailVerified: true })).emailVerified).toBe(true);
        expect((await dir.updateAccount(account.id, { platformAdmin: true })).platformAdmin).toBe(true);
        expect((await dir.getAccount(account.id))?.platformAdmin).toBe(true);
        expect((await dir.updateAccount(account.id, { platformAdmin: false })).platformAdmin).toBe(false);
        await dir.setPassword(account.id, 'a brand new password');
        expect(await dir.authenticate(account.username, PASSWORD)).toBeUndefined();
        expect((await dir.authenticate(account.username, 'a brand new password'))?.id).toBe(account.id);
        expect((await rejection(dir.setPassword(account.id, 'short'))).status).toBe(400);
        expect((await rejection(dir.updateAccount('00000000-0000-4000-8000-000000000000', { name: 'x' }))).status).toBe(404);
      });

      it('pages through search results without duplicates or gaps', async () => {
        const prefix = unique('pg');
        const ids = new Set<string>();
        for (let i = 0; i < 5; i++) ids.add((await dir.createAccount({ username: `${prefix}${i}`, email: `${prefix}${i}@example.org`, name: `P ${i}` })).id);
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await dir.searchAccounts({ query: prefix, limit: 2, cursor });
          expect(page.total).toBe(5);
          expect(page.items.length).toBeLessThanOrEqual(2);
          seen.push(...page.items.map((a) => a.id));
          cursor = page.next;
        } while (cursor);
        expect(seen.length).toBe(5);
        expect(new Set(seen)).toEqual(ids);
      });

      it('creates platform admins when asked', async () => {
        const admin = await newAccount('adm', { platformAdmin: true });
        expect(admin.platformAdmin).toBe(true);
        expect((await dir.findAccount(admin.username))?.platformAdmin).toBe(true);
      });
    });

    describe('collectives and memberships', () => {
      it('creates, reads, lists, updates collectives; ids are unique; services must be configured', async () => {
        const id = unique('coop');
        const created = await dir.createCollective({ id, name: 'Coop', services: ['oficina', 'agora'] });
        expect(created).toEqual({ id, name: 'Coop', services: ['agora', 'oficina'] });
        expect(await dir.getCollective(id)).toEqual(created);
        expect((await rejection(dir.createCollective({ id, name: 'Again', services: [] }))).status).toBe(409);
        const unknown = await rejection(dir.createCollective({ id: unique('coop'), name: 'X', services: ['nope'] }));
        expect(unknown.status).toBe(400);
        expect(unknown.fields).toHaveProperty('services');
        expect((await rejection(dir.createCollective({ id: 'porta-admins', name: 'X', services: [] }))).status).toBe(400);
        expect((await rejection(dir.createCollective({ id: 'bad*id', name: 'X', services: [] }))).status).toBe(400);
        const updated = await dir.updateCollective(id, { name: 'Coop 2', services: ['meet'] });
        expect(updated).toEqual({ id, name: 'Coop 2', services: ['meet'] });
        expect(await dir.getCollective(id)).toEqual(updated);
        expect(await dir.getCollective(unique('none'))).toBeUndefined();
        expect(await dir.getCollective('*')).toBeUndefined();
        const all: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await dir.listCollectives({ limit: 1, cursor });
          all.push(...page.items.map((c) => c.id));
          cursor = page.next;
        } while (cursor);
        expect(all).toContain(id);
        expect(new Set(all).size).toBe(all.length);
      });

      it('adds members, appoints managers, grants only contracted services, removes members with their grants', async () => {
        const id = unique('mem');
        await dir.createCollective({ id, name: 'Members', services: ['oficina', 'agora'] });
        const alice = await newAccount('alice');
        const bob = await newAccount('bob');
        await dir.addMember(id, alice.id);
        await dir.addMember(id, bob.id);
        await dir.addMember(id, bob.id); // idempotent
        await dir.setManager(id, alice.id, true);
        await dir.setGrants(id, bob.id, ['oficina']);
        const uncontracted = await rejection(dir.setGrants(id, bob.id, ['meet']));
        expect(uncontracted.status).toBe(400);
        expect(uncontracted.code).toBe('service_not_contracted');
        const members = await dir.listMembers(id);
        expect(members.total).toBe(2);
        const byName = Object.fromEntries(members.items.map((m) => [m.username, m]));
        expect(byName[alice.username]).toMatchObject({ id: alice.id, manager: true, grants: [], collectiveId: id });
        expect(byName[bob.username]).toMatchObject({ id: bob.id, manager: false, grants: ['oficina'] });
        expect(await dir.membershipsOf(bob.id)).toEqual([{ collectiveId: id, manager: false, grants: ['oficina'] }]);
        expect(await dir.membershipsOf(alice.id)).toEqual([{ collectiveId: id, manager: true, grants: [] }]);

        await dir.setGrants(id, bob.id, ['agora', 'oficina']);
        expect((await dir.membershipsOf(bob.id))[0].grants).toEqual(['agora', 'oficina']);
        await dir.setGrants(id, bob.id, ['agora']);
        expect((await dir.membershipsOf(bob.id))[0].grants).toEqual(['agora']);

        await dir.removeMember(id, bob.id);
        expect(await dir.membershipsOf(bob.id)).toEqual([]);
        expect((await dir.listMembers(id)).items.map((m) => m.id)).toEqual([alice.id]);
        await dir.addMember(id, bob.id);
        expect(await dir.membershipsOf(bob.id)).toEqual([{ collectiveId: id, manager: false, grants: [] }]);
        expect((await rejection(dir.setGrants(id, (await newAccount('out')).id, ['oficina']))).status).toBe(404);
        expect((await rejection(dir.removeMember(unique('none'), bob.id))).status).toBe(404);
        await dir.setManager(id, alice.id, false);
        expect((await dir.membershipsOf(alice.id))[0].manager).toBe(false);
      });

      it('dropping a service from a collective drops its grants', async () => {
        const id = unique('drop');
        await dir.createCollective({ id, name: 'Drop', services: ['oficina', 'agora'] });
        const carol = await newAccount('carol');
        await dir.addMember(id, carol.id);
        await dir.setGrants(id, carol.id, ['oficina', 'agora']);
        await dir.updateCollective(id, { services: ['agora'] });
        expect((await dir.membershipsOf(carol.id))[0].grants).toEqual(['agora']);
      });

      it('pages members without duplicates', async () => {
        const id = unique('pgm');
        await dir.createCollective({ id, name: 'Paged', services: [] });
        const ids = new Set<string>();
        for (let i = 0; i < 5; i++) {
          const a = await dir.createAccount({ username: `${id}m${i}`, email: `${id}m${i}@example.org`, name: `M ${i}` });
          await dir.addMember(id, a.id);
          ids.add(a.id);
        }
        const seen: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await dir.listMembers(id, { limit: 2, cursor });
          expect(page.total).toBe(5);
          seen.push(...page.items.map((m) => m.id));
          cursor = page.next;
        } while (cursor);
        expect(new Set(seen)).toEqual(ids);
        expect(seen.length).toBe(5);
      });

      it('deleting a collective ends its memberships', async () => {
        const id = unique('del');
        await dir.createCollective({ id, name: 'Gone', services: ['meet'] });
        const dave = await newAccount('dave');
        await dir.addMember(id, dave.id);
        await dir.setGrants(id, dave.id, ['meet']);
        await dir.deleteCollective(id);
        expect(await dir.getCollective(id)).toBeUndefined();
        expect(await dir.membershipsOf(dave.id)).toEqual([]);
      });
    });

    it('deleting an account removes its personal data and memberships; the username can be used again', async () => {
      const id = unique('gdpr');
      await dir.createCollective({ id, name: 'GDPR', services: ['oficina'] });
      const erin = await newAccount('erin');
      await dir.addMember(id, erin.id);
      await dir.setManager(id, erin.id, true);
      await dir.setGrants(id, erin.id, ['oficina']);
      await dir.deleteAccount(erin.id);
      expect(await dir.getAccount(erin.id)).toBeUndefined();
      expect(await dir.findAccount(erin.username)).toBeUndefined();
      expect(await dir.findAccount(erin.email)).toBeUndefined();
      expect(await dir.authenticate(erin.username, PASSWORD)).toBeUndefined();
      expect((await dir.searchAccounts({ query: erin.username })).total).toBe(0);
      expect(await dir.membershipsOf(erin.id)).toEqual([]);
      expect((await dir.listMembers(id)).total).toBe(0);
      const again = await dir.createAccount({ username: erin.username, email: erin.email, name: 'Another Erin', password: PASSWORD });
      expect(again.id).not.toBe(erin.id);
      expect(await dir.membershipsOf(again.id)).toEqual([]);
    });

    it('answers ping', async () => {
      await expect(dir.ping()).resolves.toBeUndefined();
    });
  });
}
