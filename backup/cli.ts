/**
 * `porta export [--out file]` and the `porta-export` branch of `porta import <file> [--merge]`.
 * Exit codes as cli/porta.ts: 0 done, 1 failed (for example a target that is not empty), 2 bad file or usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Platform } from '../cli/assemble.ts';
import { AppError } from '../kernel/errors.ts';
import { exportPlatform } from './export.ts';
import { importPlatform, InvalidExportError } from './import.ts';
import { looksLikeExport, parseExport } from './format.ts';

const SECRETS_WARNING =
  'Warning: the export holds secrets (signing and cookie keys, client secrets, password hashes, second-factor secrets). Store it encrypted, readable only by the operator, and delete copies you no longer need.\n';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: CliIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

export async function runExport(platform: Platform, options: { out?: string }, io: CliIo = processIo): Promise<number> {
  const document = await exportPlatform(platform);
  const text = `${JSON.stringify(document, null, 2)}\n`;
  io.err(SECRETS_WARNING);
  if (options.out) {
    // Owner-only from the first byte.
    writeFileSync(options.out, text, { mode: 0o600 });
    io.err(`Exported ${document.accounts.length} accounts, ${document.collectives.length} collectives, ${document.memberships.length} memberships to ${options.out}.\n`);
  } else {
    io.out(text);
  }
  return 0;
}

/**
 * Reads `file` and says whether it is a Porta export (JSON whose `format` is `porta-export`);
 * CSV and LDIF files answer false and keep their own import path.
 */
export function readExportFile(file: string): { isExport: false } | { isExport: true; raw: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return { isExport: false }; // the CSV/LDIF path reports the unreadable file as it always did
  }
  if (!/^\s*\{/.test(text)) return { isExport: false };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { isExport: false };
  }
  return looksLikeExport(raw) ? { isExport: true, raw } : { isExport: false };
}

function printProblems(error: InvalidExportError, io: CliIo): void {
  io.err('The export file is not valid; nothing was imported:\n');
  for (const p of error.problems) io.err(`  ${p.path}: ${p.message}\n`);
}

/** Structure check before any store or directory is opened. */
export function precheckExport(raw: unknown, io: CliIo = processIo): boolean {
  const parsed = parseExport(raw);
  if (parsed.ok) return true;
  printProblems(new InvalidExportError(parsed.problems), io);
  return false;
}

export async function runImport(platform: Platform, raw: unknown, options: { merge: boolean }, io: CliIo = processIo): Promise<number> {
  try {
    const report = await importPlatform(platform, raw, { mode: options.merge ? 'merge' : 'empty-only' });
    io.out(
      `Imported: ${report.accounts.created} accounts (${report.accounts.skipped} kept), ${report.collectives.created} collectives (${report.collectives.skipped} kept), ` +
        `${report.memberships.created} memberships (${report.memberships.skipped} kept), policy ${report.policy}, ${report.documents.written} platform documents (${report.documents.skipped} kept), ${report.auditEntries} audit entries.\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof InvalidExportError) {
      printProblems(error, io);
      return 2;
    }
    if (error instanceof AppError && error.status < 500) {
      io.err(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
}
