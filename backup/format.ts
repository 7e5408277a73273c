/**
 * The `porta-export` document, version 1: everything a Porta needs to carry on elsewhere, as JSON.
 * One zod schema validates a whole file before anything is written, and names the bad field.
 *
 * Opaque platform documents (keys, secrets, factors, subscriptions …) travel as `{ id, doc }` rows of
 * their DocumentStore collection; `DOCUMENT_SECTIONS` says which collection each section holds, so
 * export and import cannot disagree.
 */
import { z } from 'zod';

export const FORMAT = 'porta-export';
export const FORMAT_VERSION = 1;

const documentRow = z.object({ id: z.string().min(1), doc: z.unknown().refine((d) => d !== undefined && d !== null, 'must be present') }).strict();
const documentRows = z.array(documentRow);
export type DocumentRow = z.infer<typeof documentRow>;

const account = z
  .object({
    id: z.string().min(1),
    username: z.string().min(1),
    email: z.string().min(3),
    emailVerified: z.boolean(),
    name: z.string().min(1),
    status: z.enum(['active', 'suspended']),
    platformAdmin: z.boolean(),
    createdAt: z.number().int().nonnegative(),
    passwordHash: z.string().min(1).optional(),
  })
  .strict();

const collective = z.object({ id: z.string().min(1), name: z.string().min(1), services: z.array(z.string().min(1)) }).strict();

const membership = z
  .object({ collectiveId: z.string().min(1), accountId: z.string().min(1), manager: z.boolean(), grants: z.array(z.string().min(1)) })
  .strict();

const policyVersion = z
  .object({
    version: z.number().int().positive(),
    document: z.unknown(),
    who: z.string(),
    when: z.number(),
    action: z.enum(['initial', 'update', 'revert']),
    revertedTo: z.number().int().positive().optional(),
    changes: z.array(z.unknown()),
  })
  .strict();

const ledgerEntry = z.object({ id: z.string().min(1), time: z.number(), data: z.record(z.string(), z.unknown()) }).strict();

export const exportSchema = z
  .object({
    format: z.literal(FORMAT),
    version: z.literal(FORMAT_VERSION),
    exportedAt: z.iso.datetime(),
    source: z.object({ store: z.string(), directory: z.string(), issuer: z.string() }).strict(),
    accounts: z.array(account),
    collectives: z.array(collective),
    memberships: z.array(membership),
    policy: z.object({ current: policyVersion.nullable(), history: z.array(policyVersion) }).strict(),
    subscriptions: z.object({ current: documentRows, history: documentRows }).strict(),
    idp: z.object({ keys: documentRows, secrets: documentRows }).strict(),
    factors: z.object({ records: documentRows, passkeys: documentRows }).strict(),
    devicePasswords: documentRows,
    platformSecrets: documentRows,
    /** Aggregates per day and month only; raw usage records stay behind (see backup/README.md). */
    usage: z.object({ daily: documentRows, monthly: documentRows, meta: documentRows }).strict(),
    audit: z.array(z.object({ stream: z.string().regex(/^audit(\..+)?$/, 'must be an audit stream'), entries: z.array(ledgerEntry) }).strict()),
  })
  .strict();

export type PlatformExport = z.infer<typeof exportSchema>;
export type ExportedAccount = z.infer<typeof account>;
export type ExportedMembership = z.infer<typeof membership>;
export type ExportedPolicyVersion = z.infer<typeof policyVersion>;

type RowSection = (e: PlatformExport) => DocumentRow[];

/** Section of the document → DocumentStore collection it holds (names from the owning modules). */
export const DOCUMENT_SECTIONS: ReadonlyArray<{ path: string; collection: string; rows: RowSection }> = [
  { path: 'subscriptions.current', collection: 'subscriptions', rows: (e) => e.subscriptions.current },
  { path: 'subscriptions.history', collection: 'subscription-history', rows: (e) => e.subscriptions.history },
  { path: 'idp.keys', collection: 'idp-keys', rows: (e) => e.idp.keys },
  { path: 'idp.secrets', collection: 'idp-secrets', rows: (e) => e.idp.secrets },
  { path: 'factors.records', collection: 'factors', rows: (e) => e.factors.records },
  { path: 'factors.passkeys', collection: 'passkeys', rows: (e) => e.factors.passkeys },
  { path: 'devicePasswords', collection: 'device-passwords', rows: (e) => e.devicePasswords },
  { path: 'platformSecrets', collection: 'directory.secrets', rows: (e) => e.platformSecrets },
  { path: 'usage.daily', collection: 'usage-daily', rows: (e) => e.usage.daily },
  { path: 'usage.monthly', collection: 'usage-monthly', rows: (e) => e.usage.monthly },
  { path: 'usage.meta', collection: 'usage-meta', rows: (e) => e.usage.meta },
];

/** A problem found while validating a file: the field (dotted path with indexes) and why. */
export interface ExportProblem {
  path: string;
  message: string;
}

export function pathOf(segments: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out ? `.${String(s)}` : String(s);
  return out || '(document)';
}

/** Parses the file's structure; cross-record checks are in import.ts. */
export function parseExport(raw: unknown): { ok: true; document: PlatformExport } | { ok: false; problems: ExportProblem[] } {
  if (raw === null || typeof raw !== 'object' || (raw as { format?: unknown }).format !== FORMAT) {
    return { ok: false, problems: [{ path: 'format', message: `must be "${FORMAT}"` }] };
  }
  const result = exportSchema.safeParse(raw);
  if (result.success) return { ok: true, document: result.data };
  return { ok: false, problems: result.error.issues.slice(0, 20).map((i) => ({ path: pathOf(i.path), message: i.message })) };
}

/** True when a parsed JSON value claims to be a Porta export (how `porta import` tells it from CSV/LDIF). */
export function looksLikeExport(raw: unknown): boolean {
  return raw !== null && typeof raw === 'object' && (raw as { format?: unknown }).format === FORMAT;
}
