/**
 * The embedded directory: accounts, collectives and memberships as documents in the store.
 *
 * Collections (all under `directory.`):
 * - `accounts`   id → account record (with the argon2id password hash)
 * - `logins`     `u:<username>` / `e:<email>` → { accountId, at }: the unique indexes
 * - `collectives` id → Collective
 * - `members`    `<collectiveId>/<accountId>` → membership (listed per collective by prefix)
 * - `memberOf`   `<accountId>/<collectiveId>` → {} (listed per account by prefix)
 *
 * Unique names are claimed with a compare-and-set (`writeVersioned(…, 0)`), which is atomic across
 * processes sharing one store; every other multi-document change is one atomic `write([...])`.
 */
import type { Clock } from '../../kernel/clock.ts';
import { systemClock } from '../../kernel/clock.ts';
import { newId } from '../../kernel/ids.ts';
import type { DocumentStore } from '../../store/types.ts';
import type { Account, Collective, Directory, DirectoryTransfer, Membership, NewAccount, Page, TransferredAccount } from '../types.ts';
import { argon2Phc } from '../transfer.ts';
import { hashPassword, verifyAgainstDummy, verifyPassword } from '../password-hash.ts';
import { normaliseLogin, unmatchable, validCollectiveId, validEmail, validName, validPassword, validServices, validUsername } from '../normalise.ts';
import { byKey, pageOf } from '../paging.ts';
import { accountExists, accountNotFound, collectiveExists, passwordHashRefused, collectiveNotFound, emailTaken, notAMember, serviceNotContracted, usernameTaken } from '../errors.ts';

const ACCOUNTS = 'directory.accounts';
const LOGINS = 'directory.logins';
const COLLECTIVES = 'directory.collectives';
const MEMBERS = 'directory.members';
const MEMBER_OF = 'directory.memberOf';

/** A claim older than this whose account never appeared is left over from a crash and may be taken over. */
const ORPHAN_CLAIM_MS = 60_000;

interface AccountRecord extends Account {
  passwordHash?: string;
}

interface LoginClaim {
  accountId: string;
  at: number;
}

interface MembershipRecord {
  collectiveId: string;
  accountId: string;
  manager: boolean;
  grants: string[];
}

type Change = { collection: string; id: string; doc: unknown | undefined };

export interface EmbeddedDirectoryOptions {
  documents: DocumentStore;
  clock?: Clock;
  /** Ids of the configured services; collectives may contract only these. */
  services?: Iterable<string>;
}

function publicAccount(record: AccountRecord): Account {
  const { passwordHash: _hash, ...account } = record;
  return account;
}

export class EmbeddedDirectory implements Directory, DirectoryTransfer {
  readonly kind = 'embedded' as const;
  readonly readOnly = false;
  private readonly documents: DocumentStore;
  private readonly clock: Clock;
  private readonly services?: ReadonlySet<string>;

  constructor(options: EmbeddedDirectoryOptions) {
    this.documents = options.documents;
    this.clock = options.clock ?? systemClock;
    this.services = options.services ? new Set(options.services) : undefined;
  }

  // ---- accounts -------------------------------------------------------------------------------

  async authenticate(login: string, password: string): Promise<Account | undefined> {
    const record = typeof login === 'string' && login ? await this.recordByLogin(login) : undefined;
    if (!record?.passwordHash || typeof password !== 'string' || password.length === 0) {
      await verifyAgainstDummy(typeof password === 'string' ? password : '');
      return undefined;
    }
    if (!(await verifyPassword(record.passwordHash, password))) return undefined;
    if (record.status !== 'active') return undefined;
    return publicAccount(record);
  }

  async getAccount(id: string): Promise<Account | undefined> {
    const record = await this.documents.get<AccountRecord>(ACCOUNTS, id);
    return record ? publicAccount(record) : undefined;
  }

  async findAccount(login: string): Promise<Account | undefined> {
    const record = await this.recordByLogin(login);
    return record ? publicAccount(record) : undefined;
  }

  private async recordByLogin(login: string): Promise<AccountRecord | undefined> {
    const normalised = typeof login === 'string' ? normaliseLogin(login) : '';
    if (!normalised || unmatchable(normalised)) return undefined;
    const key = normalised.includes('@') ? `e:${normalised}` : `u:${normalised}`;
    const claim = await this.documents.get<LoginClaim>(LOGINS, key);
    if (!claim) return undefined;
    return this.documents.get<AccountRecord>(ACCOUNTS, claim.accountId);
  }

  async searchAccounts(options: { query?: string; limit?: number; cursor?: string }): Promise<Page<Account>> {
    const query = options.query ? normaliseLogin(options.query) : '';
    if (unmatchable(query)) return { items: [], total: 0 };
    const rows = await this.documents.list<AccountRecord>(ACCOUNTS);
    const matches = rows
      .map((row) => publicAccount(row.doc))
      .filter((a) => !query || a.username.includes(query) || a.email.includes(query) || a.name.toLowerCase().includes(query))
      .sort(byKey((a) => a.username));
    return pageOf(matches, (a) => a.username, options);
  }

  async createAccount(input: NewAccount): Promise<Account> {
    const username = validUsername(input.username);
    const email = validEmail(input.email);
    const name = validName(input.name);
    const passwordHash = input.password === undefined ? undefined : await hashPassword(validPassword(input.password));
    const id = newId();
    await this.claimLogins(id, username, email);
    const record: AccountRecord = {
      id,
      username,
      email,
      emailVerified: input.emailVerified ?? false,
      name,
      status: 'active',
      platformAdmin: input.platformAdmin ?? false,
      createdAt: this.clock.now(),
      ...(passwordHash ? { passwordHash } : {}),
    };
    await this.documents.write([{ collection: ACCOUNTS, id, doc: record }]);
    return publicAccount(record);
  }

  /** Claims the username and the email for a new account; neither stays claimed if the other is taken. */
  private async claimLogins(accountId: string, username: string, email: string): Promise<void> {
    await this.claim(`u:${username}`, accountId, usernameTaken);
    try {
      await this.claim(`e:${email}`, accountId, emailTaken);
    } catch (error) {
      await this.documents.write([{ collection: LOGINS, id: `u:${username}`, doc: undefined }]);
      throw error;
    }
  }

  /** Claims a unique login key for `accountId`, atomically; throws `taken()` if another account holds it. */
  private async claim(key: string, accountId: string, taken: () => Error): Promise<void> {
    const claim: LoginClaim = { accountId, at: this.clock.now() };
    if ((await this.documents.writeVersioned(LOGINS, key, claim, 0)) !== undefined) return;
    const existing = await this.documents.get<LoginClaim>(LOGINS, key);
    const version = await this.documents.version(LOGINS, key);
    if (existing) {
      const owner = await this.documents.get<AccountRecord>(ACCOUNTS, existing.accountId);
      if (owner || this.clock.now() - existing.at < ORPHAN_CLAIM_MS) throw taken();
    }
    if ((await this.documents.writeVersioned(LOGINS, key, claim, version)) === undefined) throw taken();
  }

  private async requireRecord(id: string): Promise<AccountRecord> {
    const record = await this.documents.get<AccountRecord>(ACCOUNTS, id);
    if (!record) throw accountNotFound();
    return record;
  }

  async updateAccount(id: string, patch: Partial<Pick<Account, 'email' | 'emailVerified' | 'name' | 'status' | 'platformAdmin'>>): Promise<Account> {
    const record = await this.requireRecord(id);
    const next: AccountRecord = { ...record };
    const changes: Change[] = [];
    if (patch.name !== undefined) next.name = validName(patch.name);
    if (patch.status !== undefined) next.status = patch.status === 'suspended' ? 'suspended' : 'active';
    if (patch.platformAdmin !== undefined) next.platformAdmin = patch.platformAdmin === true;
    if (patch.emailVerified !== undefined) next.emailVerified = patch.emailVerified === true;
    if (patch.email !== undefined) {
      const email = validEmail(patch.email);
      if (email !== record.email) {
        await this.claim(`e:${email}`, id, emailTaken);
        changes.push({ collection: LOGINS, id: `e:${record.email}`, doc: undefined });
        next.email = email;
        // A new address is unverified unless the caller says otherwise.
        if (patch.emailVerified === undefined) next.emailVerified = false;
      }
    }
    changes.push({ collection: ACCOUNTS, id, doc: next });
    await this.documents.write(changes);
    return publicAccount(next);
  }

  async setPassword(id: string, password: string): Promise<void> {
    const record = await this.requireRecord(id);
    const passwordHash = await hashPassword(validPassword(password));
    await this.documents.write([{ collection: ACCOUNTS, id, doc: { ...record, passwordHash } }]);
  }

  async deleteAccount(id: string): Promise<void> {
    const record = await this.requireRecord(id);
    const memberships = await this.documents.list<unknown>(MEMBER_OF, { prefix: `${id}/` });
    const changes: Change[] = [
      { collection: ACCOUNTS, id, doc: undefined },
      { collection: LOGINS, id: `u:${record.username}`, doc: undefined },
      { collection: LOGINS, id: `e:${record.email}`, doc: undefined },
    ];
    for (const row of memberships) {
      const collectiveId = row.id.slice(id.length + 1);
      changes.push({ collection: MEMBER_OF, id: row.id, doc: undefined });
      changes.push({ collection: MEMBERS, id: `${collectiveId}/${id}`, doc: undefined });
    }
    await this.documents.write(changes);
  }

  // ---- transfer (porta export / import) ------------------------------------------------------

  async passwordHashOf(id: string): Promise<string | undefined> {
    return (await this.documents.get<AccountRecord>(ACCOUNTS, id))?.passwordHash;
  }

  refusesPasswordHash(hash: string): string | undefined {
    return argon2Phc(hash) ? undefined : 'the embedded directory verifies argon2 hashes only ($argon2id$…)';
  }

  async importAccount(input: TransferredAccount): Promise<Account> {
    const id = typeof input.id === 'string' ? input.id.trim() : '';
    if (!id) throw accountNotFound();
    const username = validUsername(input.username);
    const email = validEmail(input.email);
    const name = validName(input.name);
    let passwordHash: string | undefined;
    if (input.passwordHash !== undefined) {
      const refused = this.refusesPasswordHash(input.passwordHash);
      if (refused) throw passwordHashRefused(refused);
      passwordHash = argon2Phc(input.passwordHash);
    }
    if (await this.documents.get<AccountRecord>(ACCOUNTS, id)) throw accountExists();
    await this.claimLogins(id, username, email);
    const record: AccountRecord = {
      id,
      username,
      email,
      emailVerified: input.emailVerified === true,
      name,
      status: input.status === 'suspended' ? 'suspended' : 'active',
      platformAdmin: input.platformAdmin === true,
      createdAt: Number.isFinite(input.createdAt) ? input.createdAt : this.clock.now(),
      ...(passwordHash ? { passwordHash } : {}),
    };
    // Compare-and-set on the id, so an import never overwrites an account created meanwhile.
    if ((await this.documents.writeVersioned(ACCOUNTS, id, record, 0)) === undefined) {
      await this.documents.write([
        { collection: LOGINS, id: `u:${username}`, doc: undefined },
        { collection: LOGINS, id: `e:${email}`, doc: undefined },
      ]);
      throw accountExists();
    }
    return publicAccount(record);
  }

  async importMembership(collectiveId: string, accountId: string, membership: { manager: boolean; grants: string[] }): Promise<void> {
    const collective = await this.requireCollective(collectiveId);
    await this.requireRecord(accountId);
    const grants = [...new Set(membership.grants)].sort();
    const uncontracted = grants.filter((s) => !collective.services.includes(s));
    if (uncontracted.length) throw serviceNotContracted(uncontracted);
    // Membership, manager flag and grants in one atomic write.
    await this.documents.write(this.membershipChanges({ collectiveId, accountId, manager: membership.manager === true, grants }, collectiveId, accountId));
  }

  // ---- collectives ----------------------------------------------------------------------------

  async getCollective(id: string): Promise<Collective | undefined> {
    return this.documents.get<Collective>(COLLECTIVES, id);
  }

  private async requireCollective(id: string): Promise<Collective> {
    const collective = await this.documents.get<Collective>(COLLECTIVES, id);
    if (!collective) throw collectiveNotFound();
    return collective;
  }

  async listCollectives(options: { limit?: number; cursor?: string } = {}): Promise<Page<Collective>> {
    const rows = await this.documents.list<Collective>(COLLECTIVES);
    const all = rows.map((r) => r.doc).sort(byKey((c) => c.id));
    return pageOf(all, (c) => c.id, options);
  }

  async createCollective(input: Collective): Promise<Collective> {
    const collective: Collective = {
      id: validCollectiveId(input.id),
      name: validName(input.name),
      services: validServices(input.services ?? [], this.services),
    };
    if ((await this.documents.writeVersioned(COLLECTIVES, collective.id, collective, 0)) === undefined) throw collectiveExists();
    return collective;
  }

  async updateCollective(id: string, patch: Partial<Pick<Collective, 'name' | 'services'>>): Promise<Collective> {
    const current = await this.requireCollective(id);
    const next: Collective = { ...current };
    if (patch.name !== undefined) next.name = validName(patch.name);
    const changes: Change[] = [];
    if (patch.services !== undefined) {
      next.services = validServices(patch.services, this.services);
      // Grants of services the collective no longer has go with them, in the same write.
      const dropped = current.services.filter((s) => !next.services.includes(s));
      if (dropped.length) {
        for (const row of await this.documents.list<MembershipRecord>(MEMBERS, { prefix: `${id}/` })) {
          if (row.doc.grants.some((g) => dropped.includes(g))) {
            changes.push({ collection: MEMBERS, id: row.id, doc: { ...row.doc, grants: row.doc.grants.filter((g) => !dropped.includes(g)) } });
          }
        }
      }
    }
    changes.push({ collection: COLLECTIVES, id, doc: next });
    await this.documents.write(changes);
    return next;
  }

  async deleteCollective(id: string): Promise<void> {
    await this.requireCollective(id);
    const changes: Change[] = [{ collection: COLLECTIVES, id, doc: undefined }];
    for (const row of await this.documents.list<MembershipRecord>(MEMBERS, { prefix: `${id}/` })) {
      changes.push({ collection: MEMBERS, id: row.id, doc: undefined });
      changes.push({ collection: MEMBER_OF, id: `${row.doc.accountId}/${id}`, doc: undefined });
    }
    await this.documents.write(changes);
  }

  // ---- memberships ----------------------------------------------------------------------------

  async listMembers(collectiveId: string, options: { limit?: number; cursor?: string } = {}): Promise<Page<Account & Membership>> {
    await this.requireCollective(collectiveId);
    const rows = await this.documents.list<MembershipRecord>(MEMBERS, { prefix: `${collectiveId}/` });
    const members: Array<Account & Membership> = [];
    for (const row of rows) {
      const record = await this.documents.get<AccountRecord>(ACCOUNTS, row.doc.accountId);
      if (record) members.push({ ...publicAccount(record), collectiveId, manager: row.doc.manager, grants: [...row.doc.grants] });
    }
    members.sort(byKey((m) => m.username));
    return pageOf(members, (m) => m.username, options);
  }

  private async membership(collectiveId: string, accountId: string): Promise<MembershipRecord | undefined> {
    return this.documents.get<MembershipRecord>(MEMBERS, `${collectiveId}/${accountId}`);
  }

  private membershipChanges(record: MembershipRecord | undefined, collectiveId: string, accountId: string): Change[] {
    return [
      { collection: MEMBERS, id: `${collectiveId}/${accountId}`, doc: record },
      { collection: MEMBER_OF, id: `${accountId}/${collectiveId}`, doc: record ? {} : undefined },
    ];
  }

  async addMember(collectiveId: string, accountId: string): Promise<void> {
    await this.requireCollective(collectiveId);
    await this.requireRecord(accountId);
    if (await this.membership(collectiveId, accountId)) return;
    await this.documents.write(this.membershipChanges({ collectiveId, accountId, manager: false, grants: [] }, collectiveId, accountId));
  }

  async removeMember(collectiveId: string, accountId: string): Promise<void> {
    await this.requireCollective(collectiveId);
    if (!(await this.membership(collectiveId, accountId))) throw notAMember();
    await this.documents.write(this.membershipChanges(undefined, collectiveId, accountId));
  }

  async setManager(collectiveId: string, accountId: string, manager: boolean): Promise<void> {
    await this.requireCollective(collectiveId);
    const current = await this.membership(collectiveId, accountId);
    if (!current) throw notAMember();
    await this.documents.write(this.membershipChanges({ ...current, manager: manager === true }, collectiveId, accountId));
  }

  async setGrants(collectiveId: string, accountId: string, services: string[]): Promise<void> {
    const collective = await this.requireCollective(collectiveId);
    const current = await this.membership(collectiveId, accountId);
    if (!current) throw notAMember();
    const grants = [...new Set(services)].sort();
    const uncontracted = grants.filter((s) => !collective.services.includes(s));
    if (uncontracted.length) throw serviceNotContracted(uncontracted);
    await this.documents.write(this.membershipChanges({ ...current, grants }, collectiveId, accountId));
  }

  async membershipsOf(accountId: string): Promise<Membership[]> {
    const rows = await this.documents.list<unknown>(MEMBER_OF, { prefix: `${accountId}/` });
    const result: Membership[] = [];
    for (const row of rows) {
      const collectiveId = row.id.slice(accountId.length + 1);
      const m = await this.membership(collectiveId, accountId);
      if (m) result.push({ collectiveId, manager: m.manager, grants: [...m.grants] });
    }
    return result.sort(byKey((m) => m.collectiveId));
  }

  async ping(): Promise<void> {
    await this.documents.get(COLLECTIVES, '__ping__');
  }

  async close(): Promise<void> {
    // The store belongs to the caller; nothing of our own to close.
  }
}
