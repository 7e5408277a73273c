/**
 * `exportPlatform(platform)`: the platform's data as one `porta-export` document (format.ts).
 *
 * Directory content goes through the Directory port (plus `DirectoryTransfer` for password hashes),
 * so an export reads the same from the embedded directory and from LDAP. Platform documents are
 * read collection by collection; the audit log is read from the ledger. Raw usage records are not
 * exported: the per-day and per-month aggregates carry what billing reports need.
 *
 * The document holds secrets (signing keys, cookie keys, client secrets, password hashes, second
 * factor secrets): whoever writes it to disk must protect it.
 */
import type { Platform } from '../cli/assemble.ts';
import type { Account, Collective, Directory } from '../directory/types.ts';
import { supportsTransfer } from '../directory/transfer.ts';
import type { Ledger } from '../store/types.ts';
import { POLICY_COLLECTION, POLICY_HISTORY_COLLECTION } from '../policies/policy-store.ts';
import { DOCUMENT_SECTIONS, FORMAT, FORMAT_VERSION, type DocumentRow, type ExportedAccount, type ExportedMembership, type ExportedPolicyVersion, type PlatformExport } from './format.ts';

export type ExportSource = Pick<Platform, 'config' | 'clock' | 'stores' | 'directory'>;

const PAGE = 500;

async function allAccounts(directory: Directory): Promise<Account[]> {
  const out: Account[] = [];
  let cursor: string | undefined;
  do {
    const page = await directory.searchAccounts({ limit: PAGE, cursor });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

async function allCollectives(directory: Directory): Promise<Collective[]> {
  const out: Collective[] = [];
  let cursor: string | undefined;
  do {
    const page = await directory.listCollectives({ limit: PAGE, cursor });
    out.push(...page.items);
    cursor = page.next;
  } while (cursor);
  return out;
}

async function allMemberships(directory: Directory, collectiveId: string): Promise<ExportedMembership[]> {
  const out: ExportedMembership[] = [];
  let cursor: string | undefined;
  do {
    const page = await directory.listMembers(collectiveId, { limit: PAGE, cursor });
    for (const m of page.items) out.push({ collectiveId, accountId: m.id, manager: m.manager, grants: [...m.grants].sort() });
    cursor = page.next;
  } while (cursor);
  return out;
}

async function allEntries(ledger: Ledger, stream: string): Promise<PlatformExport['audit'][number]['entries']> {
  const out: PlatformExport['audit'][number]['entries'] = [];
  let after: string | undefined;
  do {
    const page = await ledger.read(stream, { after, limit: 1000 });
    out.push(...page.entries);
    after = page.next;
  } while (after);
  return out;
}

export async function exportPlatform(platform: ExportSource): Promise<PlatformExport> {
  const { directory, stores } = platform;
  if (!supportsTransfer(directory)) throw new Error(`the ${directory.kind} directory cannot export password hashes`);
  const { documents } = stores;
  const rows = async (collection: string): Promise<DocumentRow[]> => (await documents.list<object>(collection)).map((r) => ({ id: r.id, doc: r.doc }));

  const accounts: ExportedAccount[] = [];
  for (const account of await allAccounts(directory)) {
    const passwordHash = await directory.passwordHashOf(account.id);
    accounts.push({ ...account, ...(passwordHash ? { passwordHash } : {}) });
  }
  const collectives = await allCollectives(directory);
  const memberships: ExportedMembership[] = [];
  for (const collective of collectives) memberships.push(...(await allMemberships(directory, collective.id)));

  const section = async (path: string) => {
    const entry = DOCUMENT_SECTIONS.find((s) => s.path === path);
    if (!entry) throw new Error(`no document section ${path}`);
    return rows(entry.collection);
  };

  const audit: PlatformExport['audit'] = [];
  for (const stream of ['audit', ...collectives.map((c) => `audit.collective.${c.id}`)]) {
    const entries = await allEntries(stores.ledger, stream);
    if (entries.length) audit.push({ stream, entries });
  }

  return {
    format: FORMAT,
    version: FORMAT_VERSION,
    exportedAt: new Date(platform.clock.now()).toISOString(),
    source: { store: stores.kind, directory: directory.kind, issuer: platform.config.idp.issuer },
    accounts,
    collectives,
    memberships,
    policy: {
      current: (await documents.get<ExportedPolicyVersion>(POLICY_COLLECTION, 'current')) ?? null,
      history: (await documents.list<ExportedPolicyVersion>(POLICY_HISTORY_COLLECTION)).map((r) => r.doc).sort((a, b) => a.version - b.version),
    },
    subscriptions: { current: await section('subscriptions.current'), history: await section('subscriptions.history') },
    idp: { keys: await section('idp.keys'), secrets: await section('idp.secrets') },
    factors: { records: await section('factors.records'), passkeys: await section('factors.passkeys') },
    devicePasswords: await section('devicePasswords'),
    platformSecrets: await section('platformSecrets'),
    usage: { daily: await section('usage.daily'), monthly: await section('usage.monthly'), meta: await section('usage.meta') },
    audit,
  };
}
