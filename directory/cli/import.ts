/**
 * `porta import <file>`: loads accounts from LDIF (`.ldif`) or CSV (`.csv`, header row with
 * `username,email,name` and optionally `password`, `emailVerified`). Existing and invalid rows are
 * skipped and reported; the rest are created. Passwords stored hashed in an LDIF (`{SSHA}…`) cannot be
 * carried over: those accounts are created without a password and their people use "forgot password".
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { AppError } from '../../kernel/errors.ts';
import type { Directory, NewAccount } from '../types.ts';

export interface ImportRow {
  /** Where the row came from: `line 3` (CSV) or the entry's DN (LDIF). */
  source: string;
  account?: NewAccount;
  problem?: string;
}

export interface ImportReport {
  total: number;
  created: number;
  skipped: Array<{ source: string; reason: string }>;
}

/** RFC 4180 CSV: quoted fields, doubled quotes, commas and newlines inside quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows.filter((r) => r.some((f) => f.trim() !== ''));
}

export function rowsFromCsv(text: string): ImportRow[] {
  const [header, ...rows] = parseCsv(text.replace(/^\uFEFF/, ''));
  if (!header) return [];
  const columns = header.map((h) => h.trim().toLowerCase());
  for (const required of ['username', 'email', 'name']) {
    if (!columns.includes(required)) throw new AppError(400, 'import_invalid', `The CSV header must name the columns username, email and name (missing: ${required}).`);
  }
  return rows.map((cells, index) => {
    const get = (name: string) => {
      const at = columns.indexOf(name);
      return at >= 0 ? cells[at]?.trim() : undefined;
    };
    const password = get('password');
    const verified = get('emailverified');
    return {
      source: `line ${index + 2}`,
      account: {
        username: get('username') ?? '',
        email: get('email') ?? '',
        name: get('name') ?? '',
        ...(password ? { password } : {}),
        emailVerified: verified ? /^(true|yes|1)$/i.test(verified) : false,
      },
    };
  });
}

/** LDIF (RFC 2849) content records: folded lines, `attr:: base64`, comments. */
export function parseLdif(text: string): Array<{ dn: string; attributes: Map<string, string[]> }> {
  const unfolded = text.replace(/\r\n/g, '\n').replace(/\n /g, '');
  const records: Array<{ dn: string; attributes: Map<string, string[]> }> = [];
  for (const block of unfolded.split(/\n\s*\n/)) {
    const attributes = new Map<string, string[]>();
    let dn = '';
    for (const line of block.split('\n')) {
      if (!line || line.startsWith('#') || /^version:/i.test(line)) continue;
      const m = line.match(/^([A-Za-z0-9;.-]+)(::?)\s*(.*)$/);
      if (!m) continue;
      const key = m[1].toLowerCase().split(';')[0];
      const value = m[2] === '::' ? Buffer.from(m[3], 'base64').toString('utf8') : m[3];
      if (key === 'dn') dn = value;
      else attributes.set(key, [...(attributes.get(key) ?? []), value]);
    }
    if (dn) records.push({ dn, attributes });
  }
  return records;
}

export function rowsFromLdif(text: string): ImportRow[] {
  const rows: ImportRow[] = [];
  for (const record of parseLdif(text)) {
    const classes = (record.attributes.get('objectclass') ?? []).map((c) => c.toLowerCase());
    const first = (k: string) => record.attributes.get(k)?.[0];
    if (!classes.some((c) => c === 'inetorgperson' || c === 'person')) continue;
    const password = first('userpassword');
    rows.push({
      source: record.dn,
      account: {
        username: first('uid') ?? '',
        email: first('mail') ?? '',
        name: first('displayname') ?? first('cn') ?? first('uid') ?? '',
        // Only a clear-text password can be re-hashed; `{SCHEME}hash` values are left behind.
        ...(password && !/^\{[A-Za-z0-9-]+\}/.test(password) ? { password } : {}),
        emailVerified: true,
      },
    });
  }
  return rows;
}

export async function importAccounts(directory: Directory, file: string, options: { format?: 'csv' | 'ldif' } = {}): Promise<ImportReport> {
  const text = await readFile(file, 'utf8');
  const format = options.format ?? (extname(file).toLowerCase() === '.ldif' || /^\s*(version:|dn:)/m.test(text.slice(0, 500)) ? 'ldif' : 'csv');
  const rows = format === 'ldif' ? rowsFromLdif(text) : rowsFromCsv(text);
  const report: ImportReport = { total: rows.length, created: 0, skipped: [] };
  for (const row of rows) {
    try {
      await directory.createAccount(row.account!);
      report.created++;
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500) throw error;
      const fields = error.fields ? Object.entries(error.fields).map(([k, v]) => `${k} ${v}`).join('; ') : '';
      report.skipped.push({ source: row.source, reason: fields ? `${error.message} (${fields})` : error.message });
    }
  }
  return report;
}
