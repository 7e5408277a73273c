/**
 * Builds the configured directory. The rest of Porta sees only the `Directory` port (types.ts).
 */
import type { PortaConfig } from '../config/schema/index.ts';
import type { Clock } from '../kernel/clock.ts';
import type { Logger } from '../kernel/logger.ts';
import type { Stores } from '../store/types.ts';
import type { Directory } from './types.ts';
import { EmbeddedDirectory } from './embedded/embedded-directory.ts';
import { LdapDirectory } from './ldap/ldap-directory.ts';

export type { Directory } from './types.ts';
export { EmbeddedDirectory } from './embedded/embedded-directory.ts';
export { LdapDirectory } from './ldap/ldap-directory.ts';

export interface CreateDirectoryOptions {
  clock?: Clock;
  logger?: Logger;
}

export function createDirectory(config: Pick<PortaConfig, 'directory' | 'services'>, stores: Pick<Stores, 'documents'>, options: CreateDirectoryOptions = {}): Directory {
  const services = config.services.map((s) => s.id);
  if (config.directory.kind === 'ldap') {
    const ldap = config.directory.ldap;
    if (!ldap) throw new Error('directory.ldap is required when directory.kind is ldap');
    return new LdapDirectory({ ...ldap, attributes: { ...ldap.attributes }, services, logger: options.logger });
  }
  return new EmbeddedDirectory({ documents: stores.documents, clock: options.clock, services });
}
