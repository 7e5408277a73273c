/**
 * `importPlatform(platform, raw, { mode })`: loads a `porta-export` document (format.ts).
 *
 * 1. Validates the whole file first (structure with zod, then cross-record checks against itself and
 *    the target: unique ids and logins, memberships naming exported accounts and collectives, grants
 *    of contracted services, password hashes the target directory can verify, a valid policy). A bad
 *    file changes nothing; the error names each bad field.
 * 2. `empty-only` (the default) refuses a target that already has accounts or collectives.
 *    `merge` keeps whatever the target already has (same account id, collective id, membership,
 *    document id, the target's policy) and adds the rest.
 * 3. Writes collectives, then accounts (ids, creation times and password hashes kept), then
 *    memberships (each one written whole by `DirectoryTransfer.importMembership`), then the policy,
 *    platform documents and the audit log. A crash half-way can be finished with `merge`.
 */
import type { Platform } from '../cli/assemble.ts';
import { AppError } from '../kernel/errors.ts';
import type { DocumentStore } from '../store/types.ts';
import { supportsTransfer } from '../directory/transfer.ts';
import type { Directory, DirectoryTransfer } from '../directory/types.ts';
import { validCollectiveId, validEmail, validName, validServices, validUsername } from '../directory/normalise.ts';
import { POLICY_CHANNEL, POLICY_COLLECTION, POLICY_HISTORY_COLLECTION } from '../policies/policy-store.ts';
import { validatePolicy } from '../policies/schema.ts';
import { DOCUMENT_SECTIONS, parseExport, type ExportProblem, type PlatformExport } from './format.ts';

export type ImportMode = 'empty-only' | 'merge';
export type ImportTarget = Pick<Platform, 'config' | 'stores' | 'directory' | 'policies'>;

export interface ImportReport {
  accounts: { created: number; skipped: number };
  collectives: { created: number; skipped: number };
  memberships: { created: number; skipped: number };
  policy: 'imported' | 'kept';
  documents: { written: number; skipped: number };
  auditEntries: number;
}

/** The file is not a valid export for this target; nothing was written. */
export class InvalidExportError extends AppError {
  readonly problems: ExportProblem[];
  constructor(problems: ExportProblem[]) {
    const fields: Record<string, string> = {};
    for (const p of problems) fields[p.path] = fields[p.path] ? `${fields[p.path]}; ${p.message}` : p.message;
    super(400, 'invalid_export', `The export file is not valid; nothing was imported. ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { fields });
    this.problems = problems;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CHUNK = 100;
const HISTORY_ID = (version: number) => String(version).padStart(12, '0');

/** Runs a directory validator (which throws an AppError naming the problem) as a check. */
function check(problems: ExportProblem[], path: string, validate: () => unknown): void {
  try {
    validate();
  } catch (error) {
    const fields = error instanceof AppError ? error.fields : undefined;
    problems.push({ path, message: fields ? Object.values(fields).join('; ') : error instanceof Error ? error.message : String(error) });
  }
}

/** Cross-record checks; the target is read, never written. */
async function crossCheck(doc: PlatformExport, target: ImportTarget, directory: Directory & DirectoryTransfer, mode: ImportMode): Promise<ExportProblem[]> {
  const problems: ExportProblem[] = [];
  const services = new Set(target.config.services.map((s) => s.id));
  const uuidIds = target.directory.kind === 'ldap' && (target.config.directory.ldap?.attributes.id ?? 'entryUUID').toLowerCase() === 'entryuuid';
  const seen = { ids: new Set<string>(), usernames: new Set<string>(), emails: new Set<string>() };

  for (const [i, a] of doc.accounts.entries()) {
    const at = `accounts[${i}]`;
    const before = problems.length;
    if (seen.ids.has(a.id)) problems.push({ path: `${at}.id`, message: 'appears twice in the file' });
    seen.ids.add(a.id);
    if (uuidIds && !UUID.test(a.id)) problems.push({ path: `${at}.id`, message: 'must be a UUID to be kept as the LDAP entryUUID' });
    check(problems, `${at}.username`, () => validUsername(a.username));
    check(problems, `${at}.email`, () => validEmail(a.email));
    check(problems, `${at}.name`, () => validName(a.name));
    const username = a.username.trim().toLowerCase();
    const email = a.email.trim().toLowerCase();
    if (seen.usernames.has(username)) problems.push({ path: `${at}.username`, message: 'appears twice in the file' });
    if (seen.emails.has(email)) problems.push({ path: `${at}.email`, message: 'appears twice in the file' });
    seen.usernames.add(username);
    seen.emails.add(email);
    if (a.passwordHash !== undefined) {
      const refused = directory.refusesPasswordHash(a.passwordHash);
      if (refused) problems.push({ path: `${at}.passwordHash`, message: refused });
    }
    if (mode === 'merge' && problems.length === before && !(await directory.getAccount(a.id))) {
      // A new account whose login another account of the target already uses would stop the import half-way.
      const byName = await directory.findAccount(username);
      const byEmail = await directory.findAccount(email);
      if (byName) problems.push({ path: `${at}.username`, message: 'is used by another account of the target' });
      if (byEmail) problems.push({ path: `${at}.email`, message: 'is used by another account of the target' });
    }
  }

  const collectives = new Map<string, Set<string>>();
  for (const [i, c] of doc.collectives.entries()) {
    const at = `collectives[${i}]`;
    if (collectives.has(c.id)) problems.push({ path: `${at}.id`, message: 'appears twice in the file' });
    check(problems, `${at}.id`, () => validCollectiveId(c.id));
    check(problems, `${at}.name`, () => validName(c.name));
    check(problems, `${at}.services`, () => validServices(c.services, services));
    collectives.set(c.id, new Set(c.services));
  }

  const pairs = new Set<string>();
  for (const [i, m] of doc.memberships.entries()) {
    const at = `memberships[${i}]`;
    if (!seen.ids.has(m.accountId)) problems.push({ path: `${at}.accountId`, message: 'names no account of the file' });
    const contracted = collectives.get(m.collectiveId);
    if (!contracted) problems.push({ path: `${at}.collectiveId`, message: 'names no collective of the file' });
    const uncontracted = m.grants.filter((g) => contracted && !contracted.has(g));
    if (uncontracted.length) problems.push({ path: `${at}.grants`, message: `not contracted by the collective: ${uncontracted.join(', ')}` });
    const pair = `${m.collectiveId}/${m.accountId}`;
    if (pairs.has(pair)) problems.push({ path: at, message: 'appears twice in the file' });
    pairs.add(pair);
  }

  if (doc.policy.current) {
    // The document alone, as `porta policy validate`: rules may name services this deployment does not run.
    const result = validatePolicy(doc.policy.current.document);
    if (!result.ok) for (const p of result.problems) problems.push({ path: `policy.current.document.${p.path}`, message: p.message });
  }
  return problems;
}

/** Restores a document together with its store version counter (the policy relies on counter = version). */
async function putWithCounter(documents: DocumentStore, collection: string, id: string, doc: unknown, counter: number): Promise<void> {
  await documents.write([{ collection, id, doc: undefined }]);
  for (let v = 0; v < counter; v += 1) {
    if ((await documents.writeVersioned(collection, id, doc, v)) === undefined) throw new Error(`${collection}/${id} changed while it was being imported`);
  }
}

export async function importPlatform(target: ImportTarget, raw: unknown, options: { mode?: ImportMode } = {}): Promise<ImportReport> {
  const mode = options.mode ?? 'empty-only';
  const { directory, stores } = target;
  const { documents } = stores;
  if (!supportsTransfer(directory)) throw new AppError(400, 'import_unsupported', `The ${directory.kind} directory cannot import accounts with their ids.`);
  if (directory.readOnly) throw new AppError(409, 'directory_read_only', 'The target directory is read-only (directory.ldap.readOnly); Porta cannot import into it.');

  const parsed = parseExport(raw);
  if (!parsed.ok) throw new InvalidExportError(parsed.problems);
  const doc = parsed.document;
  const problems = await crossCheck(doc, target, directory, mode);
  if (problems.length) throw new InvalidExportError(problems.slice(0, 20));

  if (mode === 'empty-only') {
    const accounts = await directory.searchAccounts({ limit: 1 });
    const collectives = await directory.listCollectives({ limit: 1 });
    if (accounts.total > 0 || collectives.total > 0) {
      throw new AppError(
        409,
        'target_not_empty',
        `The target already has ${accounts.total} account(s) and ${collectives.total} collective(s); nothing was imported. Import into an empty Porta, or pass --merge to keep what is there and add the rest.`,
      );
    }
  }

  const report: ImportReport = {
    accounts: { created: 0, skipped: 0 },
    collectives: { created: 0, skipped: 0 },
    memberships: { created: 0, skipped: 0 },
    policy: 'kept',
    documents: { written: 0, skipped: 0 },
    auditEntries: 0,
  };

  for (const c of doc.collectives) {
    if (mode === 'merge' && (await directory.getCollective(c.id))) {
      report.collectives.skipped += 1;
      continue;
    }
    await directory.createCollective(c);
    report.collectives.created += 1;
  }
  for (const a of doc.accounts) {
    if (mode === 'merge' && (await directory.getAccount(a.id))) {
      report.accounts.skipped += 1;
      continue;
    }
    await directory.importAccount(a);
    report.accounts.created += 1;
  }
  for (const m of doc.memberships) {
    if (mode === 'merge' && (await directory.membershipsOf(m.accountId)).some((x) => x.collectiveId === m.collectiveId)) {
      report.memberships.skipped += 1;
      continue;
    }
    await directory.importMembership(m.collectiveId, m.accountId, { manager: m.manager, grants: m.grants });
    report.memberships.created += 1;
  }

  // The policy: history first, the current record last (it is what processes load).
  if (doc.policy.current && mode === 'empty-only') {
    for (const row of await documents.list<unknown>(POLICY_HISTORY_COLLECTION)) {
      if (!doc.policy.history.some((h) => HISTORY_ID(h.version) === row.id)) await documents.write([{ collection: POLICY_HISTORY_COLLECTION, id: row.id, doc: undefined }]);
    }
    for (let i = 0; i < doc.policy.history.length; i += CHUNK) {
      await documents.write(doc.policy.history.slice(i, i + CHUNK).map((h) => ({ collection: POLICY_HISTORY_COLLECTION, id: HISTORY_ID(h.version), doc: h })));
    }
    await putWithCounter(documents, POLICY_COLLECTION, 'current', doc.policy.current, doc.policy.current.version);
    report.policy = 'imported';
  }

  for (const section of DOCUMENT_SECTIONS) {
    let rows = section.rows(doc);
    if (mode === 'merge') {
      const existing = new Set((await documents.list<unknown>(section.collection)).map((r) => r.id));
      report.documents.skipped += rows.filter((r) => existing.has(r.id)).length;
      rows = rows.filter((r) => !existing.has(r.id));
    }
    for (let i = 0; i < rows.length; i += CHUNK) {
      await documents.write(rows.slice(i, i + CHUNK).map((r) => ({ collection: section.collection, id: r.id, doc: r.doc })));
    }
    report.documents.written += rows.length;
  }
  await finaliseImportedDays(documents, doc);

  for (const { stream, entries } of doc.audit) {
    for (let i = 0; i < entries.length; i += 1000) report.auditEntries += await stores.ledger.append(stream, entries.slice(i, i + 1000));
  }

  // Running processes sharing this store pick the policy up (the others: on their next poll or start).
  if (report.policy === 'imported') {
    await target.policies.refresh().catch(() => undefined);
    await stores.broadcast.publish(POLICY_CHANNEL, JSON.stringify({ version: doc.policy.current!.version })).catch(() => undefined);
  }
  return report;
}

/**
 * Raw usage records stay behind, so the imported daily aggregates are final: moving the retention
 * mark past the last imported day stops the aggregator from recomputing them from an empty ledger.
 */
async function finaliseImportedDays(documents: DocumentStore, doc: PlatformExport): Promise<void> {
  const days = doc.usage.daily.map((r) => Date.parse(`${r.id}T00:00:00Z`)).filter((t) => Number.isFinite(t));
  if (!days.length) return;
  const after = Math.max(...days) + 24 * 3600 * 1000;
  const meta = (await documents.get<{ deletedBefore: number }>('usage-meta', 'retention')) ?? { deletedBefore: 0 };
  if (meta.deletedBefore < after) await documents.write([{ collection: 'usage-meta', id: 'retention', doc: { ...meta, deletedBefore: after } }]);
}
