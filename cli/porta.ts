#!/usr/bin/env -S node --no-memory-reducer
/**
 * The `porta` command. `npm start` runs `porta start`; `npm run porta -- <command>` runs any other.
 * Exit codes: 0 done, 1 failed, 2 bad configuration or usage.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config/load.ts';
import { createLogger } from '../kernel/logger.ts';
import { startPorta, type Role } from './start.ts';
import { NODE_FLAGS } from './node-flags.ts';
import { assemblePlatform, type Platform } from './assemble.ts';
import { silentLogger } from '../kernel/logger.ts';
import { runKeysCommand } from '../idp/cli/keys.ts';
import { createPlatformAdmin } from '../directory/cli/admin-create.ts';
import { importAccounts } from '../directory/cli/import.ts';
import { validatePolicyFile, explain } from '../policies/cli.ts';
import { runReportCommand } from '../metering/cli.ts';
import { AppError } from '../kernel/errors.ts';
import { precheckExport, readExportFile, runExport, runImport } from '../backup/cli.ts';

const USAGE = `Usage: porta <command> [options]

Commands:
  start [--role all|idp|gateway]   Run Porta (default: every role in one process)
  check-config                     Validate the configuration and print what it resolves to
  admin create --username U --email E   Create the first platform admin (password from PORTA_ADMIN_PASSWORD or stdin)
  import <file.csv|file.ldif>      Load accounts from CSV (username,email,name[,password]) or LDIF
  import <export.json> [--merge]   Load a \`porta export\` into an empty Porta (--merge: keep what is there, add the rest)
  export [--out file]              All platform data as JSON (holds secrets: protect the file)
  keys rotate                      Add a new signing key; old ones stay published until their tokens expire
  policy validate <file>           Check a policy file offline
  policy explain <account> <service>   Why an account may or may not use a service, with which limits
  report --period YYYY-MM [--format json|csv] [--out file]   The billing report of a month

Configuration: PORTA_CONFIG=<file> (default config/default.yaml) and PORTA_* variables (docs/configuration.md).
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'check-config':
      return checkConfig();
    case 'admin':
      return adminCommand(rest);
    case 'import':
      return importCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'keys': {
      const config = readConfig();
      return config ? runKeysCommand(rest, { config, out: (line) => process.stdout.write(`${line}\n`) }) : 2;
    }
    case 'policy':
      return policyCommand(rest);
    case 'report': {
      const config = readConfig();
      return config ? runReportCommand(rest, config) : 2;
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`Unknown command "${command}".\n\n${USAGE}`);
      return 2;
  }
}

function readConfig() {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\nNothing was started. Fix the keys above and try again.\n`);
      return undefined;
    }
    throw error;
  }
}

function checkConfig(): number {
  const config = readConfig();
  if (!config) return 2;
  process.stdout.write(`Configuration is valid (${process.env.PORTA_CONFIG ?? 'config/default.yaml'}).\n`);
  process.stdout.write(`  store: ${config.store.kind}, directory: ${config.directory.kind}, issuer: ${config.idp.issuer}, services: ${config.services.length}\n`);
  return 0;
}

/** Runs `work` with the shared parts built from the configuration, then closes them. */
async function withPlatform(work: (platform: Platform) => Promise<number>): Promise<number> {
  const config = readConfig();
  if (!config) return 2;
  const platform = await assemblePlatform(config, silentLogger);
  try {
    return await work(platform);
  } catch (error) {
    if (error instanceof AppError && error.status < 500) {
      const fields = error.fields ? ` (${Object.entries(error.fields).map(([k, v]) => `${k}: ${v}`).join('; ')})` : '';
      process.stderr.write(`${error.message}${fields}\n`);
      return 1;
    }
    throw error;
  } finally {
    await platform.close();
  }
}

async function readSecret(variable: string): Promise<string> {
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function adminCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'create') {
    process.stderr.write('Usage: porta admin create --username U --email E [--name N]   (password from PORTA_ADMIN_PASSWORD or stdin)\n');
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { username: { type: 'string' }, email: { type: 'string' }, name: { type: 'string' } }, strict: true });
  if (!values.username || !values.email) {
    process.stderr.write('--username and --email are required.\n');
    return 2;
  }
  const password = await readSecret('PORTA_ADMIN_PASSWORD');
  return withPlatform(async (platform) => {
    const account = await createPlatformAdmin(platform.directory, { username: values.username!, email: values.email!, name: values.name, password }, { audit: platform.accounts.audit });
    process.stdout.write(`Platform admin ${account.username} created (id ${account.id}).\n`);
    return 0;
  });
}

async function importCommand(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, options: { merge: { type: 'boolean', default: false } }, allowPositionals: true, strict: true });
  const [file] = positionals;
  if (!file) {
    process.stderr.write('Usage: porta import <file.csv|file.ldif|export.json> [--merge]\n');
    return 2;
  }
  // A `porta export` file (JSON with format "porta-export") goes to the platform importer (backup/).
  const exported = readExportFile(file);
  if (exported.isExport) {
    if (!precheckExport(exported.raw)) return 2;
    return withPlatform((platform) => runImport(platform, exported.raw, { merge: values.merge === true }));
  }
  if (values.merge) {
    process.stderr.write('--merge applies to `porta export` files only.\n');
    return 2;
  }
  return withPlatform(async (platform) => {
    const report = await importAccounts(platform.directory, file);
    process.stdout.write(`${report.created} of ${report.total} accounts created.\n`);
    for (const skipped of report.skipped) process.stdout.write(`  skipped ${skipped.source}: ${skipped.reason}\n`);
    return report.skipped.length > 0 ? 1 : 0;
  });
}

async function exportCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { out: { type: 'string' } }, strict: true });
  return withPlatform((platform) => runExport(platform, { out: values.out }));
}

async function policyCommand(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  if (action === 'validate' && rest[0]) {
    // The document alone: rules may name services a deployment does not run (they never match).
    const result = validatePolicyFile(rest[0]);
    (result.ok ? process.stdout : process.stderr).write(`${result.text}\n`);
    return result.ok ? 0 : 2;
  }
  if (action === 'explain' && rest[0] && rest[1]) {
    return withPlatform(async (platform) => {
      const text = await explain(
        { policy: () => platform.policies.current().compiled, directory: platform.directory, subscriptions: platform.subscriptions, services: platform.config.services, clock: platform.clock },
        { account: rest[0]!, service: rest[1]! },
      );
      process.stdout.write(`${text}\n`);
      return 0;
    });
  }
  process.stderr.write('Usage: porta policy validate <file> | porta policy explain <account> <service>\n');
  return 2;
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { role: { type: 'string', default: 'all' } }, strict: true });
  const role = values.role as Role;
  if (!['all', 'idp', 'gateway'].includes(role)) {
    process.stderr.write(`--role must be all, idp or gateway (got "${values.role}").\n`);
    return 2;
  }
  const config = readConfig();
  if (!config) return 2;
  const logger = createLogger({ level: config.log.level });
  const missing = NODE_FLAGS.filter((flag) => !process.execArgv.includes(flag));
  if (missing.length > 0) logger.warn({ missing }, 'Node was started without the flags Porta runs with (cli/node-flags.ts): pass them to node, as npm start does; without them the gateway runs slower for a while after it has been idle');
  const porta = await startPorta(config, role, logger);
  for (const listener of porta.listeners) process.stdout.write(`Porta ${listener.name} ready at ${listener.url}\n`);

  return new Promise<number>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      porta.stop().then(
        () => resolve(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`porta: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
