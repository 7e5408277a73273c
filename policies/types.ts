/**
 * The vocabulary of policies. `policies/` is pure: these are plain data, and `decide` turns an
 * Identity, a Service and a Request into a Decision without any I/O or clock.
 */

/** What an account is in the platform; an identity may hold several roles. */
export type Role = 'platform-admin' | 'manager' | 'member';

/** Who is asking. An anonymous visitor has no `subject`. */
export interface Identity {
  /** Account id (the OIDC `sub`); undefined for an anonymous visitor. */
  subject?: string;
  /** Plan ids from subscriptions (the policy's default plan is added for every account by `decide`). */
  plans: string[];
  /** Extra storage blocks bought on top of the plans (see `extraStorageBlock` in the policy). */
  extraStorageBlocks: number;
  /** Ids of the collectives the account belongs to. */
  collectives: string[];
  /** Dedicated services granted to the account, by collective id. */
  grants: Record<string, string[]>;
  roles: Role[];
  /** Authentication methods of the current login (`pwd`, `otp`, `hwk` …). */
  amr: string[];
}

/** A service behind the gateway, as far as the policy cares. */
export interface Service {
  id: string;
  name?: string;
  /** A collective's own service: reached through grants. */
  dedicated?: boolean;
}

export interface Request {
  method: string;
  path: string;
  host?: string;
}

export type Period = 'month' | 'year';

export interface Price {
  cents: number;
  period: Period;
  /** The price is a minimum ("from 500 €/year"); larger holders pay more by agreement. */
  minimum?: boolean;
}

export interface RateLimit {
  points: number;
  /** Window length in seconds. */
  duration: number;
}

export type HolderKind = 'account' | 'collective';

/**
 * What a plan gives. For every limit `null` means unlimited and `0` means none. Sizes are bytes.
 */
export interface Plan {
  name: string;
  description?: string;
  price: Price | null;
  /** Who may hold a subscription to this plan. */
  holders: HolderKind[];
  /** Oficina (Nextcloud) storage quota. */
  storage: number | null;
  /** Longest meeting this plan lets its holder host, in minutes. */
  meetingMinutes: number | null;
  /** Minutes of hosted meetings per day. */
  hostedMinutesPerDay: number | null;
  /** Storage for meeting recordings. */
  recordingStorage: number | null;
  /** Rate limits by service id; a service not listed uses the policy's `rateLimits`. */
  rateLimits: Record<string, RateLimit>;
}

export interface ExtraStorageBlock {
  bytes: number;
  priceCents: number;
  period: Period;
}

/**
 * Who a rule is about. Strings are kinds that need no argument:
 * - `public`: anyone, also anonymous visitors
 * - `authenticated`: any signed-in account
 * - `platform-admins`, `managers` (of any collective)
 * - `grants`: a member whom a collective granted the very service being requested
 * Objects name plans or collectives: `{ plans: [...] }`, `{ collectives: [...] }`.
 */
export type SubjectKind = 'public' | 'authenticated' | 'platform-admins' | 'managers' | 'grants';
export type Subject = SubjectKind | { plans: string[] } | { collectives: string[] };

export type Effect = 'allow' | 'deny';

export interface Rule {
  id: string;
  description?: string;
  /** Service ids; absent = every service. */
  services?: string[];
  /** HTTP methods (upper case); absent = every method. */
  methods?: string[];
  /** Path prefixes (`/admin` matches `/admin` and `/admin/x`) or globs (`*` within a segment, `**` across); absent = every path. */
  paths?: string[];
  /** Any one of these (OR). */
  subjects: Subject[];
  /** `two`: the login must have used a second factor (amr contains `otp` or `hwk`). */
  factors?: 'any' | 'two';
  effect: Effect;
  /** Shown to the person when this rule denies. */
  reason?: string;
}

export interface RateLimits {
  /** Applies to every service not listed under `services`; absent = no limit. */
  default?: RateLimit;
  services: Record<string, RateLimit>;
}

/** The policy document admins edit: validated by `schema.ts`, versioned by `policy-store.ts`. */
export interface PolicyDocument {
  /** The plan every account holds, with or without a subscription. */
  defaultPlan: string;
  plans: Record<string, Plan>;
  extraStorageBlock: ExtraStorageBlock | null;
  rateLimits: RateLimits;
  rules: Rule[];
  /** Who must use a second factor; absent = the defaults (platform admins and managers). */
  secondFactor?: SecondFactorPolicy;
}

/** Who must sign in with a second factor (see `secondFactorRequired`). */
export interface SecondFactorPolicy {
  requiredForRoles: Role[];
  requiredForPlans: string[];
  requiredForCollectives: string[];
}

/** The limits that apply to one identity on one service. `null` = unlimited. */
export interface Limits {
  /** The plans these limits come from (most generous of each). */
  plans: string[];
  storage: number | null;
  meetingMinutes: number | null;
  hostedMinutesPerDay: number | null;
  recordingStorage: number | null;
  /** Rate limit for the service asked about; null = none. */
  rateLimit: RateLimit | null;
}

export interface Decision {
  effect: Effect;
  rule: { id: string; position: number } | 'default';
  /** A sentence a person understands. */
  reason: string;
  limits: Limits;
  /** On a deny: what would give access (for the "access denied" page). */
  wouldAllow?: string;
}
