/**
 * The LDAP directory (ldapts), with standard object classes only, so it works with OpenLDAP and 389-DS.
 *
 * Layout (DNs configurable, see config/schema/directory.ts):
 * - account:    `uid=<username>,<usersDn>`, objectClass inetOrgPerson (uid, mail, cn, sn).
 *               Its id (the OIDC `sub`) is `entryUUID` by default.
 * - collective: `cn=<id>,<collectivesDn>`, objectClass groupOfNames; `description` = name,
 *               `member` = members, `owner` = managers, `businessCategory` (multi-valued) = the ids of
 *               the services it has contracted.
 * - grant:      `cn=<collective>-<service>,cn=<collective>,<collectivesDn>`, groupOfNames whose
 *               `member`s may use that service; `businessCategory` = the service id.
 * - flags:      groupOfNames under groupsDn: `cn=porta-admins` (platform admins), `cn=porta-suspended`,
 *               `cn=porta-unverified` (email not verified yet). Absent means "no".
 *
 * groupOfNames requires at least one `member`; Porta's groups always hold their own DN as a
 * placeholder member, which is never reported.
 *
 * Every filter value goes through ldapts filter classes (RFC 4515 escaping); every DN value through
 * `DN` (RFC 4514). Not atomic across entries (LDAP has no transactions): each method orders its
 * writes so that a failure half-way leaves access narrower, never wider.
 */
import { AndFilter, Attribute, BerWriter, Change, Control, EqualityFilter, OrFilter, SubstringFilter, AlreadyExistsError, NoSuchAttributeError, NoSuchObjectError, ResultCodeError, TypeOrValueExistsError, type Client, type Entry, type Filter } from 'ldapts';
import type { Logger } from '../../kernel/logger.ts';
import { randomToken } from '../../kernel/ids.ts';
import type { Account, Collective, Directory, DirectoryTransfer, Membership, NewAccount, Page, TransferredAccount } from '../types.ts';
import { argon2Phc, isLdapCrypt } from '../transfer.ts';
import { normaliseLogin, unmatchable, validCollectiveId, validEmail, validName, validPassword, validServices, validUsername } from '../normalise.ts';
import { byKey, clampLimit, decodeCursor, encodeCursor, pageOf } from '../paging.ts';
import { accountExists, accountNotFound, invalidAccountId, collectiveExists, passwordHashRefused, collectiveNotFound, emailTaken, notAMember, readOnlyDirectory, serviceNotContracted, usernameTaken } from '../errors.ts';
import { childDn, firstRdn, normaliseDn, splitDn } from './dn.ts';
import { LdapConnection } from './connection.ts';

export interface LdapDirectoryOptions {
  url: string;
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  usersDn?: string;
  groupsDn?: string;
  collectivesDn?: string;
  adminGroup?: string;
  suspendedGroup?: string;
  unverifiedGroup?: string;
  readOnly?: boolean;
  startTls?: boolean;
  timeoutMs?: number;
  pageSize?: number;
  attributes?: { username?: string; email?: string; name?: string; id?: string };
  /** Ids of the configured services; collectives may contract only these. */
  services?: Iterable<string>;
  logger?: Logger;
}

const PASSWORD_MODIFY_OID = '1.3.6.1.4.1.4203.1.11.1';
/**
 * Relax Rules control (draft-zeilenga-ldap-relax, OpenLDAP): lets a client with `manage` access
 * (the rootdn, or `by dn=… manage`) set operational attributes such as entryUUID and createTimestamp.
 * Used only by `importAccount`, so imported accounts keep their OIDC `sub`.
 */
const RELAX_RULES_OID = '1.3.6.1.4.1.4203.666.5.12';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** ms since the epoch → `20260101120000Z`. */
function toGeneralizedTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d+Z$/, 'Z');
}

function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (!key) return [];
  const raw = entry[key];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v)));
}

function value(entry: Entry, attribute: string): string | undefined {
  return values(entry, attribute)[0];
}

/** `20260101120000Z` (GeneralizedTime) → ms since the epoch. */
function generalizedTime(text: string | undefined): number {
  const m = text?.match(/^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})/);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : 0;
}

interface Flags {
  admins: Set<string>;
  suspended: Set<string>;
  unverified: Set<string>;
}

export class LdapDirectory implements Directory, DirectoryTransfer {
  readonly kind = 'ldap' as const;
  readonly readOnly: boolean;
  private readonly connection: LdapConnection;
  private readonly usersDn: string;
  private readonly groupsDn: string;
  private readonly collectivesDn: string;
  private readonly groups: { admins: string; suspended: string; unverified: string };
  private readonly attr: { username: string; email: string; name: string; id: string };
  private readonly pageSize: number;
  private readonly services?: ReadonlySet<string>;

  constructor(options: LdapDirectoryOptions) {
    this.readOnly = options.readOnly ?? false;
    this.connection = new LdapConnection({
      url: options.url,
      bindDn: options.bindDn,
      bindPassword: options.bindPassword,
      timeoutMs: options.timeoutMs ?? 5000,
      startTls: options.startTls ?? false,
      logger: options.logger,
    });
    this.usersDn = options.usersDn ?? `ou=people,${options.baseDn}`;
    this.groupsDn = options.groupsDn ?? `ou=groups,${options.baseDn}`;
    this.collectivesDn = options.collectivesDn ?? `ou=collectives,${this.groupsDn}`;
    this.groups = {
      admins: childDn('cn', options.adminGroup ?? 'porta-admins', this.groupsDn),
      suspended: childDn('cn', options.suspendedGroup ?? 'porta-suspended', this.groupsDn),
      unverified: childDn('cn', options.unverifiedGroup ?? 'porta-unverified', this.groupsDn),
    };
    this.attr = { username: 'uid', email: 'mail', name: 'cn', id: 'entryUUID', ...options.attributes };
    this.pageSize = options.pageSize ?? 500;
    this.services = options.services ? new Set(options.services) : undefined;
  }

  private writable(): void {
    if (this.readOnly) throw readOnlyDirectory();
  }

  /**
   * Lookups that name one entry or a few run unpaged and concurrently; listings (`paged`) use RFC 2696
   * paged results, one at a time on the service connection.
   */
  private search(base: string, filter: Filter | string, attributes: string[], scope: 'base' | 'one' | 'sub' = 'sub', paged = false): Promise<Entry[]> {
    const operation = async (client: Client) => {
      try {
        const { searchEntries } = await client.search(base, { scope, filter, attributes, ...(paged ? { paged: { pageSize: this.pageSize } } : {}) });
        return searchEntries;
      } catch (error) {
        if (error instanceof NoSuchObjectError) return [];
        throw error;
      }
    };
    return paged ? this.connection.runExclusive(operation) : this.connection.run(operation);
  }

  private get accountAttributes(): string[] {
    return [this.attr.id, this.attr.username, this.attr.email, this.attr.name, 'createTimestamp'];
  }

  // ---- flags (groups under groupsDn) -----------------------------------------------------------

  private async flags(): Promise<Flags> {
    const entries = await this.search(
      this.groupsDn,
      new OrFilter({ filters: Object.values(this.groups).map((dn) => new EqualityFilter({ attribute: 'cn', value: firstRdn(dn)!.value })) }),
      ['member'],
      'one',
    );
    const flags: Flags = { admins: new Set(), suspended: new Set(), unverified: new Set() };
    for (const entry of entries) {
      const dn = normaliseDn(entry.dn);
      const target = dn === normaliseDn(this.groups.admins) ? flags.admins : dn === normaliseDn(this.groups.suspended) ? flags.suspended : dn === normaliseDn(this.groups.unverified) ? flags.unverified : undefined;
      for (const member of values(entry, 'member')) target?.add(normaliseDn(member));
    }
    return flags;
  }

  /**
   * The flags of one account: one indexed search for Porta's groups that list its DN, so the cost
   * does not grow with the size of those groups (the IdP reads an account on every sign-in).
   */
  private async flagsOf(dn: string): Promise<Flags> {
    const entries = await this.search(this.groupsDn, new EqualityFilter({ attribute: 'member', value: dn }), ['cn'], 'one');
    const flags: Flags = { admins: new Set(), suspended: new Set(), unverified: new Set() };
    const key = normaliseDn(dn);
    for (const entry of entries) {
      const group = normaliseDn(entry.dn);
      if (group === normaliseDn(this.groups.admins)) flags.admins.add(key);
      else if (group === normaliseDn(this.groups.suspended)) flags.suspended.add(key);
      else if (group === normaliseDn(this.groups.unverified)) flags.unverified.add(key);
    }
    return flags;
  }

  private async oneAccount(entry: Entry | undefined): Promise<Account | undefined> {
    return entry ? this.toAccount(entry, await this.flagsOf(entry.dn)) : undefined;
  }

  private toAccount(entry: Entry, flags: Flags): Account | undefined {
    const id = value(entry, this.attr.id);
    const username = value(entry, this.attr.username);
    if (!id || !username) return undefined;
    const dn = normaliseDn(entry.dn);
    return {
      id,
      username: normaliseLogin(username),
      email: normaliseLogin(value(entry, this.attr.email) ?? ''),
      emailVerified: !flags.unverified.has(dn),
      name: value(entry, this.attr.name) ?? username,
      status: flags.suspended.has(dn) ? 'suspended' : 'active',
      platformAdmin: flags.admins.has(dn),
      createdAt: generalizedTime(value(entry, 'createTimestamp')),
    };
  }

  private accountFilter(extra?: Filter): Filter {
    const person = new EqualityFilter({ attribute: 'objectClass', value: 'inetOrgPerson' });
    return extra ? new AndFilter({ filters: [person, extra] }) : person;
  }

  private async entryBy(attribute: string, lookup: string): Promise<Entry | undefined> {
    if (!lookup) return undefined;
    const entries = await this.search(this.usersDn, this.accountFilter(new EqualityFilter({ attribute, value: lookup })), this.accountAttributes);
    // Ambiguity fails closed: two entries answering to one login is a directory problem, not a match.
    return entries.length === 1 ? entries[0] : undefined;
  }

  private entryByLogin(login: string): Promise<Entry | undefined> {
    const normalised = typeof login === 'string' ? normaliseLogin(login) : '';
    if (unmatchable(normalised)) return Promise.resolve(undefined);
    return this.entryBy(normalised.includes('@') ? this.attr.email : this.attr.username, normalised);
  }

  private async entryById(id: string): Promise<Entry | undefined> {
    if (typeof id !== 'string' || !id) return undefined;
    try {
      return await this.entryBy(this.attr.id, id);
    } catch (error) {
      // An id that is not even valid syntax for the id attribute (e.g. not a UUID) names nothing. Only
      // an LDAP result error means that: "directory unavailable" (an AppError, which also has a
      // `code`) must propagate, or an outage would look like a missing account.
      if (error instanceof ResultCodeError) return undefined;
      throw error;
    }
  }

  private async requireEntry(id: string): Promise<Entry> {
    const entry = await this.entryById(id);
    if (!entry) throw accountNotFound();
    return entry;
  }

  // ---- accounts -------------------------------------------------------------------------------

  async authenticate(login: string, password: string): Promise<Account | undefined> {
    if (typeof password !== 'string' || password.length === 0) return undefined;
    const entry = await this.entryByLogin(login);
    if (!entry) {
      // Bind anyway (to a DN that cannot exist), so unknown logins cost what known ones do.
      await this.connection.verifyPassword(childDn(this.attr.username, `porta-no-such-user-${randomToken(8)}`, this.usersDn), password);
      return undefined;
    }
    if (!(await this.connection.verifyPassword(entry.dn, password))) return undefined;
    const account = await this.oneAccount(entry);
    return account?.status === 'active' ? account : undefined;
  }

  async getAccount(id: string): Promise<Account | undefined> {
    return this.oneAccount(await this.entryById(id));
  }

  async findAccount(login: string): Promise<Account | undefined> {
    return this.oneAccount(await this.entryByLogin(login));
  }

  async searchAccounts(options: { query?: string; limit?: number; cursor?: string }): Promise<Page<Account>> {
    const query = options.query ? normaliseLogin(options.query) : '';
    if (unmatchable(query)) return { items: [], total: 0 };
    const filter = query
      ? this.accountFilter(new OrFilter({ filters: [this.attr.username, this.attr.email, this.attr.name].map((attribute) => new SubstringFilter({ attribute, any: [query] })) }))
      : this.accountFilter();
    const [entries, flags] = await Promise.all([this.search(this.usersDn, filter, this.accountAttributes, 'sub', true), this.flags()]);
    const accounts = entries.map((e) => this.toAccount(e, flags)).filter((a): a is Account => a !== undefined).sort(byKey((a) => a.username));
    return pageOf(accounts, (a) => a.username, options);
  }

  /** Refuses a username or email another account already uses (the username is reported first). */
  private async refuseTakenLogins(username: string, email: string): Promise<void> {
    const clash = await this.search(
      this.usersDn,
      new OrFilter({ filters: [new EqualityFilter({ attribute: this.attr.username, value: username }), new EqualityFilter({ attribute: this.attr.email, value: email })] }),
      [this.attr.username],
    );
    if (clash.some((e) => normaliseLogin(value(e, this.attr.username) ?? '') === username)) throw usernameTaken();
    if (clash.length) throw emailTaken();
  }

  async createAccount(input: NewAccount): Promise<Account> {
    this.writable();
    const username = validUsername(input.username);
    const email = validEmail(input.email);
    const name = validName(input.name);
    if (input.password !== undefined) validPassword(input.password);
    await this.refuseTakenLogins(username, email);
    const dn = childDn(this.attr.username, username, this.usersDn);
    await this.connection.run(async (client) => {
      try {
        await client.add(dn, {
          objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
          [this.attr.username]: username,
          [this.attr.email]: email,
          [this.attr.name]: name,
          sn: name,
        });
      } catch (error) {
        if (error instanceof AlreadyExistsError) throw usernameTaken();
        throw error;
      }
    });
    try {
      if (!input.emailVerified) await this.addToGroup(this.groups.unverified, dn);
      if (input.password !== undefined) await this.modifyPassword(dn, input.password);
      if (input.platformAdmin) await this.addToGroup(this.groups.admins, dn);
    } catch (error) {
      // No half-made accounts: an entry that would look verified, or lack its password, goes again.
      await this.modifyGroup(this.groups.unverified, 'delete', 'member', dn).catch(() => undefined);
      await this.deleteEntry(dn).catch(() => undefined);
      throw error;
    }
    const entry = await this.search(dn, '(objectClass=*)', this.accountAttributes, 'base');
    const account = await this.oneAccount(entry[0]);
    if (!account) throw new Error(`created ${dn} but cannot read its ${this.attr.id}`);
    return account;
  }

  /** RFC 3062 Password Modify: the server hashes with its own configured scheme. */
  private async modifyPassword(dn: string, password: string): Promise<void> {
    const writer = new BerWriter();
    writer.startSequence();
    writer.writeString(dn, 0x80);
    writer.writeString(password, 0x82);
    writer.endSequence();
    await this.connection.run((client) => client.exop(PASSWORD_MODIFY_OID, writer.buffer));
  }

  private async modifyGroup(groupDn: string, operation: 'add' | 'delete', attribute: 'member' | 'owner', memberDn: string): Promise<void> {
    await this.connection.run(async (client) => {
      try {
        await client.modify(groupDn, new Change({ operation, modification: new Attribute({ type: attribute, values: [memberDn] }) }));
      } catch (error) {
        if (error instanceof TypeOrValueExistsError && operation === 'add') return;
        if (error instanceof NoSuchAttributeError && operation === 'delete') return;
        if (error instanceof NoSuchObjectError && operation === 'delete') return;
        throw error;
      }
    });
  }

  /** Adds a member, creating Porta's group (with its placeholder member) the first time. */
  private async addToGroup(groupDn: string, memberDn: string, extra: Record<string, string | string[]> = {}): Promise<void> {
    try {
      await this.modifyGroup(groupDn, 'add', 'member', memberDn);
    } catch (error) {
      if (!(error instanceof NoSuchObjectError)) throw error;
      await this.connection.run(async (client) => {
        try {
          await client.add(groupDn, { objectClass: ['top', 'groupOfNames'], cn: firstRdn(groupDn)!.value, member: [groupDn, memberDn], ...extra });
        } catch (e) {
          if (e instanceof AlreadyExistsError) return this.modifyGroup(groupDn, 'add', 'member', memberDn);
          throw e;
        }
      });
    }
  }

  private async setFlag(groupDn: string, memberDn: string, on: boolean): Promise<void> {
    if (on) await this.addToGroup(groupDn, memberDn);
    else await this.modifyGroup(groupDn, 'delete', 'member', memberDn);
  }

  async updateAccount(id: string, patch: Partial<Pick<Account, 'email' | 'emailVerified' | 'name' | 'status' | 'platformAdmin'>>): Promise<Account> {
    this.writable();
    const entry = await this.requireEntry(id);
    const dn = entry.dn;
    const changes: Change[] = [];
    let verified = patch.emailVerified;
    if (patch.name !== undefined) {
      const name = validName(patch.name);
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: this.attr.name, values: [name] }) }));
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'sn', values: [name] }) }));
    }
    if (patch.email !== undefined) {
      const email = validEmail(patch.email);
      if (email !== normaliseLogin(value(entry, this.attr.email) ?? '')) {
        const other = await this.search(this.usersDn, new EqualityFilter({ attribute: this.attr.email, value: email }), [this.attr.id]);
        if (other.some((e) => normaliseDn(e.dn) !== normaliseDn(dn))) throw emailTaken();
        changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: this.attr.email, values: [email] }) }));
        verified ??= false;
      }
    }
    // Narrowing changes first (suspend, unverify), widening ones last.
    if (patch.status === 'suspended') await this.setFlag(this.groups.suspended, dn, true);
    if (verified === false) await this.setFlag(this.groups.unverified, dn, true);
    if (patch.platformAdmin === false) await this.setFlag(this.groups.admins, dn, false);
    if (changes.length) await this.connection.run((client) => client.modify(dn, changes));
    if (patch.status === 'active') await this.setFlag(this.groups.suspended, dn, false);
    if (verified === true) await this.setFlag(this.groups.unverified, dn, false);
    if (patch.platformAdmin === true) await this.setFlag(this.groups.admins, dn, true);
    const account = await this.getAccount(id);
    if (!account) throw accountNotFound();
    return account;
  }

  async setPassword(id: string, password: string): Promise<void> {
    this.writable();
    validPassword(password);
    const entry = await this.requireEntry(id);
    await this.modifyPassword(entry.dn, password);
  }

  async deleteAccount(id: string): Promise<void> {
    this.writable();
    const entry = await this.requireEntry(id);
    const dn = entry.dn;
    // Leave every group (collectives, grants, flags) first, then remove the entry itself.
    for (const attribute of ['owner', 'member'] as const) {
      const groups = await this.search(this.groupsDn, new EqualityFilter({ attribute, value: dn }), ['cn']);
      for (const group of groups) await this.modifyGroup(group.dn, 'delete', attribute, dn);
    }
    await this.connection.run((client) => client.del(dn));
  }

  // ---- transfer (porta export / import) ------------------------------------------------------

  async passwordHashOf(id: string): Promise<string | undefined> {
    const entry = await this.entryById(id);
    if (!entry) return undefined;
    const found = await this.search(entry.dn, '(objectClass=*)', ['userPassword'], 'base');
    const stored = found[0] ? value(found[0], 'userPassword') : undefined;
    if (!stored) return undefined;
    // `{ARGON2}$argon2id$…` travels as the plain PHC string every backend understands.
    return argon2Phc(stored) ?? stored;
  }

  refusesPasswordHash(hash: string): string | undefined {
    if (argon2Phc(hash) || isLdapCrypt(hash)) return undefined;
    return 'LDAP keeps argon2 ($argon2id$…, needs slapd\'s argon2 module) or {CRYPT} hashes only';
  }

  async importAccount(input: TransferredAccount): Promise<Account> {
    this.writable();
    const id = typeof input.id === 'string' ? input.id.trim() : '';
    const username = validUsername(input.username);
    const email = validEmail(input.email);
    const name = validName(input.name);
    const relax = this.attr.id.toLowerCase() === 'entryuuid';
    if (!id || (relax && !UUID.test(id))) throw invalidAccountId(this.attr.id);
    let userPassword: string | undefined;
    if (input.passwordHash !== undefined) {
      const refused = this.refusesPasswordHash(input.passwordHash);
      if (refused) throw passwordHashRefused(refused);
      const phc = argon2Phc(input.passwordHash);
      userPassword = phc ? `{ARGON2}${phc}` : input.passwordHash;
    }
    if (await this.entryById(id)) throw accountExists();
    await this.refuseTakenLogins(username, email);
    const dn = childDn(this.attr.username, username, this.usersDn);
    // Narrowing flags first (groupOfNames may list a DN before its entry exists): the entry never
    // exists, even for a moment, looking verified or active when it should not.
    const narrowing = [...(input.status === 'suspended' ? [this.groups.suspended] : []), ...(input.emailVerified ? [] : [this.groups.unverified])];
    const attributes: Record<string, string | string[]> = {
      objectClass: ['top', 'person', 'organizationalPerson', 'inetOrgPerson'],
      [this.attr.username]: username,
      [this.attr.email]: email,
      [this.attr.name]: name,
      sn: name,
      [this.attr.id]: id,
      ...(userPassword ? { userPassword } : {}),
      ...(relax && Number.isFinite(input.createdAt) && input.createdAt > 0 ? { createTimestamp: toGeneralizedTime(input.createdAt) } : {}),
    };
    try {
      for (const group of narrowing) await this.addToGroup(group, dn);
      await this.connection.run(async (client) => {
        try {
          await client.add(dn, attributes, relax ? new Control(RELAX_RULES_OID, { critical: true }) : undefined);
        } catch (error) {
          if (error instanceof AlreadyExistsError) throw usernameTaken();
          throw error;
        }
      });
    } catch (error) {
      for (const group of narrowing) await this.modifyGroup(group, 'delete', 'member', dn).catch(() => undefined);
      throw error;
    }
    if (input.platformAdmin === true) await this.addToGroup(this.groups.admins, dn);
    const account = await this.getAccount(id);
    if (!account) throw new Error(`imported ${dn} but cannot find it by ${this.attr.id}`);
    return account;
  }

  async importMembership(collectiveId: string, accountId: string, membership: { manager: boolean; grants: string[] }): Promise<void> {
    this.writable();
    const collective = this.toCollective(await this.requireCollective(collectiveId));
    const entry = await this.requireEntry(accountId);
    const grants = [...new Set(membership.grants)].sort();
    const uncontracted = grants.filter((s) => !collective.services.includes(s));
    if (uncontracted.length) throw serviceNotContracted(uncontracted);
    // Grants and `owner` count only for members (membershipsOf, listMembers), so writing them before
    // `member` makes the membership appear complete, with one last write, or not at all.
    for (const service of grants) await this.addToGroup(this.grantDn(collectiveId, service), entry.dn, { businessCategory: service });
    if (membership.manager === true) await this.modifyGroup(this.collectiveDn(collectiveId), 'add', 'owner', entry.dn);
    await this.modifyGroup(this.collectiveDn(collectiveId), 'add', 'member', entry.dn);
  }

  // ---- collectives ----------------------------------------------------------------------------

  private collectiveDn(id: string): string {
    return childDn('cn', id, this.collectivesDn);
  }

  private grantDn(collectiveId: string, service: string): string {
    return childDn('cn', `${collectiveId}-${service}`, this.collectiveDn(collectiveId));
  }

  private async collectiveEntry(id: string, attributes: string[]): Promise<Entry | undefined> {
    if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(id)) return undefined;
    const entries = await this.search(this.collectiveDn(id), new EqualityFilter({ attribute: 'objectClass', value: 'groupOfNames' }), attributes, 'base');
    return entries[0];
  }

  private toCollective(entry: Entry): Collective {
    const id = value(entry, 'cn') ?? firstRdn(entry.dn)?.value ?? '';
    return { id, name: value(entry, 'description') ?? id, services: values(entry, 'businessCategory').sort() };
  }

  async getCollective(id: string): Promise<Collective | undefined> {
    const entry = await this.collectiveEntry(id, ['cn', 'description', 'businessCategory']);
    return entry ? this.toCollective(entry) : undefined;
  }

  private async requireCollective(id: string, attributes: string[] = ['cn', 'description', 'businessCategory']): Promise<Entry> {
    const entry = await this.collectiveEntry(id, attributes);
    if (!entry) throw collectiveNotFound();
    return entry;
  }

  async listCollectives(options: { limit?: number; cursor?: string } = {}): Promise<Page<Collective>> {
    const entries = await this.search(this.collectivesDn, new EqualityFilter({ attribute: 'objectClass', value: 'groupOfNames' }), ['cn', 'description', 'businessCategory'], 'one', true);
    const all = entries.map((e) => this.toCollective(e)).sort(byKey((c) => c.id));
    return pageOf(all, (c) => c.id, options);
  }

  private async ensureCollectivesContainer(): Promise<void> {
    await this.connection.run(async (client) => {
      try {
        await client.add(this.collectivesDn, { objectClass: ['top', 'organizationalUnit'], ou: firstRdn(this.collectivesDn)!.value });
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    });
  }

  async createCollective(input: Collective): Promise<Collective> {
    this.writable();
    const collective: Collective = { id: validCollectiveId(input.id), name: validName(input.name), services: validServices(input.services ?? [], this.services) };
    const dn = this.collectiveDn(collective.id);
    const entry: Record<string, string | string[]> = { objectClass: ['top', 'groupOfNames'], cn: collective.id, description: collective.name, member: [dn] };
    if (collective.services.length) entry.businessCategory = collective.services;
    const add = () =>
      this.connection.run((client) => client.add(dn, entry)).catch((error: unknown) => {
        if (error instanceof AlreadyExistsError) throw collectiveExists();
        throw error;
      });
    try {
      await add();
    } catch (error) {
      if (!(error instanceof NoSuchObjectError)) throw error;
      await this.ensureCollectivesContainer();
      await add();
    }
    return collective;
  }

  async updateCollective(id: string, patch: Partial<Pick<Collective, 'name' | 'services'>>): Promise<Collective> {
    this.writable();
    const current = this.toCollective(await this.requireCollective(id));
    const next: Collective = { ...current };
    const changes: Change[] = [];
    if (patch.name !== undefined) {
      next.name = validName(patch.name);
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: [next.name] }) }));
    }
    let dropped: string[] = [];
    if (patch.services !== undefined) {
      next.services = validServices(patch.services, this.services);
      dropped = current.services.filter((s) => !next.services.includes(s));
      changes.push(new Change({ operation: 'replace', modification: new Attribute({ type: 'businessCategory', values: next.services }) }));
    }
    // Grants of dropped services go first, so no member keeps a service the collective lost.
    for (const service of dropped) await this.deleteEntry(this.grantDn(id, service));
    if (changes.length) await this.connection.run((client) => client.modify(this.collectiveDn(id), changes));
    return next;
  }

  private async deleteEntry(dn: string): Promise<void> {
    await this.connection.run(async (client) => {
      try {
        await client.del(dn);
      } catch (error) {
        if (!(error instanceof NoSuchObjectError)) throw error;
      }
    });
  }

  async deleteCollective(id: string): Promise<void> {
    this.writable();
    await this.requireCollective(id);
    const children = await this.search(this.collectiveDn(id), '(objectClass=*)', ['cn'], 'one', true);
    for (const child of children) await this.deleteEntry(child.dn);
    await this.deleteEntry(this.collectiveDn(id));
  }

  // ---- memberships ----------------------------------------------------------------------------

  /** Grants of one collective: member DN (normalised) → service ids. */
  private async grantsOf(collectiveId: string): Promise<Map<string, string[]>> {
    const entries = await this.search(this.collectiveDn(collectiveId), new EqualityFilter({ attribute: 'objectClass', value: 'groupOfNames' }), ['businessCategory', 'member'], 'one');
    const grants = new Map<string, string[]>();
    for (const entry of entries) {
      const service = value(entry, 'businessCategory');
      if (!service) continue;
      for (const member of values(entry, 'member')) {
        const key = normaliseDn(member);
        grants.set(key, [...(grants.get(key) ?? []), service].sort());
      }
    }
    return grants;
  }

  async listMembers(collectiveId: string, options: { limit?: number; cursor?: string } = {}): Promise<Page<Account & Membership>> {
    const entry = await this.requireCollective(collectiveId, ['member', 'owner']);
    const self = normaliseDn(entry.dn);
    const owners = new Set(values(entry, 'owner').map(normaliseDn));
    const memberDns = [...new Set(values(entry, 'member').map(normaliseDn))].filter((dn) => dn !== self).sort();
    // Paged by member DN, so a page costs one search however large the collective is.
    const limit = clampLimit(options.limit);
    const after = decodeCursor(options.cursor);
    const rest = after === undefined ? memberDns : memberDns.filter((dn) => dn > after);
    const pageDns = rest.slice(0, limit);
    const items: Array<Account & Membership> = [];
    if (pageDns.length) {
      const rdns = pageDns.map(firstRdn).filter((r): r is { attribute: string; value: string } => r !== undefined);
      const [entries, flags, grants] = await Promise.all([
        this.search(this.usersDn, this.accountFilter(new OrFilter({ filters: rdns.map((r) => new EqualityFilter({ attribute: r.attribute, value: r.value })) })), this.accountAttributes, 'sub', true),
        this.flags(),
        this.grantsOf(collectiveId),
      ]);
      const byDn = new Map(entries.map((e) => [normaliseDn(e.dn), e]));
      for (const dn of pageDns) {
        const found = byDn.get(dn);
        const account = found && this.toAccount(found, flags);
        if (account) items.push({ ...account, collectiveId, manager: owners.has(dn), grants: grants.get(dn) ?? [] });
      }
    }
    const page: Page<Account & Membership> = { items, total: memberDns.length };
    if (rest.length > limit) page.next = encodeCursor(pageDns[pageDns.length - 1]);
    return page;
  }

  private async isMember(collectiveId: string, accountDn: string): Promise<boolean> {
    const entries = await this.search(this.collectiveDn(collectiveId), new EqualityFilter({ attribute: 'member', value: accountDn }), ['cn'], 'base');
    return entries.length > 0;
  }

  async addMember(collectiveId: string, accountId: string): Promise<void> {
    this.writable();
    await this.requireCollective(collectiveId);
    const entry = await this.requireEntry(accountId);
    await this.modifyGroup(this.collectiveDn(collectiveId), 'add', 'member', entry.dn);
  }

  async removeMember(collectiveId: string, accountId: string): Promise<void> {
    this.writable();
    await this.requireCollective(collectiveId);
    const entry = await this.requireEntry(accountId);
    if (!(await this.isMember(collectiveId, entry.dn))) throw notAMember();
    // Grants and management first, membership last.
    const grants = await this.search(this.collectiveDn(collectiveId), new EqualityFilter({ attribute: 'member', value: entry.dn }), ['cn'], 'one');
    for (const grant of grants) await this.modifyGroup(grant.dn, 'delete', 'member', entry.dn);
    await this.modifyGroup(this.collectiveDn(collectiveId), 'delete', 'owner', entry.dn);
    await this.modifyGroup(this.collectiveDn(collectiveId), 'delete', 'member', entry.dn);
  }

  async setManager(collectiveId: string, accountId: string, manager: boolean): Promise<void> {
    this.writable();
    await this.requireCollective(collectiveId);
    const entry = await this.requireEntry(accountId);
    if (!(await this.isMember(collectiveId, entry.dn))) throw notAMember();
    await this.modifyGroup(this.collectiveDn(collectiveId), manager === true ? 'add' : 'delete', 'owner', entry.dn);
  }

  async setGrants(collectiveId: string, accountId: string, services: string[]): Promise<void> {
    this.writable();
    const collective = this.toCollective(await this.requireCollective(collectiveId));
    const entry = await this.requireEntry(accountId);
    if (!(await this.isMember(collectiveId, entry.dn))) throw notAMember();
    const wanted = [...new Set(services)].sort();
    const uncontracted = wanted.filter((s) => !collective.services.includes(s));
    if (uncontracted.length) throw serviceNotContracted(uncontracted);
    const current = (await this.grantsOf(collectiveId)).get(normaliseDn(entry.dn)) ?? [];
    for (const service of current.filter((s) => !wanted.includes(s))) await this.modifyGroup(this.grantDn(collectiveId, service), 'delete', 'member', entry.dn);
    for (const service of wanted.filter((s) => !current.includes(s))) await this.addToGroup(this.grantDn(collectiveId, service), entry.dn, { businessCategory: service });
  }

  async membershipsOf(accountId: string): Promise<Membership[]> {
    const entry = await this.entryById(accountId);
    if (!entry) return [];
    const [memberOf, ownerOf] = await Promise.all([
      this.search(this.collectivesDn, new EqualityFilter({ attribute: 'member', value: entry.dn }), ['cn', 'businessCategory']),
      this.search(this.collectivesDn, new EqualityFilter({ attribute: 'owner', value: entry.dn }), ['cn'], 'one'),
    ]);
    const base = splitDn(normaliseDn(this.collectivesDn)).length;
    const managed = new Set(ownerOf.map((e) => value(e, 'cn')));
    const result = new Map<string, Membership>();
    const grants: Array<{ collectiveId: string; service: string }> = [];
    for (const e of memberOf) {
      const rdns = splitDn(normaliseDn(e.dn));
      if (rdns.length === base + 1) {
        const id = firstRdn(e.dn)!.value;
        result.set(id, { collectiveId: id, manager: managed.has(id), grants: [] });
      } else if (rdns.length === base + 2) {
        const service = value(e, 'businessCategory');
        const collectiveId = firstRdn(rdns.slice(1).join(','))?.value;
        if (service && collectiveId) grants.push({ collectiveId, service });
      }
    }
    for (const g of grants) result.get(g.collectiveId)?.grants.push(g.service);
    for (const m of result.values()) m.grants.sort();
    return [...result.values()].sort(byKey((m) => m.collectiveId));
  }

  async ping(): Promise<void> {
    await this.search(this.usersDn, '(objectClass=*)', ['objectClass'], 'base');
  }

  async close(): Promise<void> {
    await this.connection.close();
  }
}
