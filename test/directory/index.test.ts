import { describe, it, expect } from '@jest/globals';
import { parseConfig } from '../../config/load.ts';
import { createStores } from '../../store/index.ts';
import { createAccountServices, createDirectory, EmbeddedDirectory, LdapDirectory, OutboxMailer, SmtpMailer } from '../../directory/index.ts';
import { startSlapd } from '../helpers/slapd.ts';

const services = [{ id: 'oficina', name: 'Oficina', upstream: 'http://127.0.0.1:9' }];

describe('createDirectory and createAccountServices', () => {
  it('builds the embedded directory with the outbox by default, limited to the configured services', async () => {
    const config = parseConfig({ services });
    const stores = await createStores({ ...config.store, path: ':memory:' });
    const directory = createDirectory(config, stores);
    expect(directory).toBeInstanceOf(EmbeddedDirectory);
    await directory.createCollective({ id: 'coop', name: 'Coop', services: ['oficina'] });
    await expect(directory.createCollective({ id: 'coop2', name: 'Coop', services: ['agora'] })).rejects.toThrow(/Unknown service/);
    const account = createAccountServices(config, stores, directory);
    expect(account.mailer).toBeInstanceOf(OutboxMailer);
    expect(account.outbox).toBe(account.mailer);
    expect(account.flows.registrationMode).toBe('open');
    const smtp = createAccountServices(parseConfig({ mail: { smtpUrl: 'smtp://127.0.0.1:2525' }, directory: { registration: 'closed' } }), stores, directory);
    expect(smtp.mailer).toBeInstanceOf(SmtpMailer);
    expect(smtp.outbox).toBeUndefined();
    expect(smtp.flows.registrationMode).toBe('closed');
    await stores.close();
  });

  it('builds the LDAP directory from config (read-only honoured)', async () => {
    const slapd = await startSlapd();
    try {
      const config = parseConfig({
        services,
        directory: { kind: 'ldap', ldap: { url: slapd.url, bindDn: slapd.serviceDn, bindPassword: slapd.servicePassword, baseDn: slapd.suffix, readOnly: true } },
      });
      const stores = await createStores({ ...config.store, path: ':memory:' });
      const directory = createDirectory(config, stores);
      expect(directory).toBeInstanceOf(LdapDirectory);
      expect(directory.readOnly).toBe(true);
      expect((await directory.findAccount('seeded'))?.email).toBe('seeded@example.org');
      await expect(createAccountServices(config, stores, directory).flows.register({ username: 'x1', email: 'x1@example.org', name: 'X', password: 'long enough pw' })).rejects.toThrow(/managed by another system/);
      await directory.close();
      await stores.close();
    } finally {
      await slapd.stop();
    }
  });
});
