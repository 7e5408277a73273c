/**
 * The directory port: accounts and collectives. `directory/` is the one place that knows about LDAP.
 * Two implementations (`ldap`, `embedded`) pass one contract suite (`test/contracts/directory.contract.ts`).
 *
 * The IdP needs only `authenticate`, `getAccount` and `membershipsOf`; the admin API uses the rest.
 */

export type AccountStatus = 'active' | 'suspended';

export interface Account {
  /** Stable, never reused; the OIDC `sub`. */
  id: string;
  /** Normalised: lower case, trimmed. Unique. */
  username: string;
  /** Normalised: lower case, trimmed. Unique. */
  email: string;
  emailVerified: boolean;
  name: string;
  status: AccountStatus;
  platformAdmin: boolean;
  createdAt: number;
}

export interface Collective {
  /** Slug, e.g. `femprocomuns`. */
  id: string;
  name: string;
  /** Ids of the services (from config `services`) the collective has contracted. */
  services: string[];
}

/** One account's place in one collective. */
export interface Membership {
  collectiveId: string;
  manager: boolean;
  /** Services of the collective granted to this member. */
  grants: string[];
}

export interface Page<T> {
  items: T[];
  total: number;
  /** Opaque cursor for the next page; undefined on the last. */
  next?: string;
}

export interface NewAccount {
  username: string;
  email: string;
  name: string;
  password?: string;
  emailVerified?: boolean;
  platformAdmin?: boolean;
}

export interface Directory {
  readonly kind: 'embedded' | 'ldap';
  readonly readOnly: boolean;

  /** The account if `login` (username or email) and `password` match and it is active; undefined otherwise. */
  authenticate(login: string, password: string): Promise<Account | undefined>;
  getAccount(id: string): Promise<Account | undefined>;
  /** By username or email, case-insensitive. */
  findAccount(login: string): Promise<Account | undefined>;
  searchAccounts(options: { query?: string; limit?: number; cursor?: string }): Promise<Page<Account>>;
  createAccount(input: NewAccount): Promise<Account>;
  updateAccount(id: string, patch: Partial<Pick<Account, 'email' | 'emailVerified' | 'name' | 'status' | 'platformAdmin'>>): Promise<Account>;
  setPassword(id: string, password: string): Promise<void>;
  deleteAccount(id: string): Promise<void>;

  getCollective(id: string): Promise<Collective | undefined>;
  listCollectives(options?: { limit?: number; cursor?: string }): Promise<Page<Collective>>;
  createCollective(input: Collective): Promise<Collective>;
  updateCollective(id: string, patch: Partial<Pick<Collective, 'name' | 'services'>>): Promise<Collective>;
  deleteCollective(id: string): Promise<void>;

  listMembers(collectiveId: string, options?: { limit?: number; cursor?: string }): Promise<Page<Account & Membership>>;
  addMember(collectiveId: string, accountId: string): Promise<void>;
  removeMember(collectiveId: string, accountId: string): Promise<void>;
  setManager(collectiveId: string, accountId: string, manager: boolean): Promise<void>;
  setGrants(collectiveId: string, accountId: string, services: string[]): Promise<void>;
  membershipsOf(accountId: string): Promise<Membership[]>;

  /** Resolves when the backend answers (readiness). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/**
 * An account as `porta export` writes it and `porta import` reads it: id (the OIDC `sub`), creation
 * time and password hash travel unchanged, so people keep their `sub` and their password.
 */
export interface TransferredAccount extends Account {
  /** `$argon2id$…` (PHC string), `{ARGON2}$argon2id$…` or `{CRYPT}$…`; absent when the account has no password. */
  passwordHash?: string;
}

/**
 * Moving a directory's content between backends (`porta export` / `porta import`, backup/). Not for
 * everyday use: the admin API and the IdP never call these. Both implementations provide them.
 */
export interface DirectoryTransfer {
  /** The stored password hash as written by `importAccount`-compatible formats, or undefined. */
  passwordHashOf(id: string): Promise<string | undefined>;
  /** Why this directory cannot store `hash` (a sentence), or undefined when it can. */
  refusesPasswordHash(hash: string): string | undefined;
  /** Creates an account with the given id, creation time, flags and password hash. 409 if id, username or email is taken. */
  importAccount(account: TransferredAccount): Promise<Account>;
  /** Writes one whole membership (manager flag and grants) so that it appears complete or not at all. */
  importMembership(collectiveId: string, accountId: string, membership: { manager: boolean; grants: string[] }): Promise<void>;
}
