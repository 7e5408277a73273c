#!/usr/bin/env node
/**
 * The `porta` command. `npm start` runs `porta start`; `npm run porta -- <command>` runs any other.
 * Exit codes: 0 done, 1 failed, 2 bad configuration or usage.
 */
import { parseArgs } from 'node:util';
import { loadConfig, ConfigError } from '../config/load.ts';
import { createLogger } from '../kernel/logger.ts';
import { startPorta, type Role } from './start.ts';

const USAGE = `Usage: porta <command> [options]

Commands:
  start [--role all|idp|gateway]   Run Porta (default: every role in one process)
  check-config                     Validate the configuration and print what it resolves to

Configuration: PORTA_CONFIG=<file> (default config/default.yaml) and PORTA_* variables (docs/configuration.md).
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start':
      return start(rest);
    case 'check-config':
      return checkConfig();
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
