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
