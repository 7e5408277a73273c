/** The ready-made client examples in config/examples/ are valid configuration and say what the services need. */
import { describe, it, expect } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseConfig, ConfigError } from '../../config/load.ts';
import { buildClients } from '../../idp/provider/clients.ts';
import type { DocumentStore } from '../../store/types.ts';

const load = (name: string) => {
  const file = fileURLToPath(new URL(`../../config/examples/${name}`, import.meta.url));
  return parseConfig(parse(readFileSync(file, 'utf8')), {}, file);
};

/** A DocumentStore that holds nothing: the examples never need the generated gateway secret twice. */
const emptyDocuments: DocumentStore = {
  get: async () => undefined,
  list: async () => [],
  write: async () => undefined,
  writeVersioned: async () => 1,
  version: async () => 0,
};

describe('client examples', () => {
  it('Nextcloud user_oidc: client_secret_post, PKCE, back-channel logout, the user_oidc redirect URI', async () => {
    const config = load('clients-nextcloud.yaml');
    const [client] = config.idp.clients;
    expect(config.idp.groupsPrefix).toBe('cc-');
    expect(client).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_post', requirePkce: true });
    expect(client!.redirectUris).toContain('https://oficina.example.coop/index.php/apps/user_oidc/code');
    expect(client!.backchannelLogoutUri).toBe('https://oficina.example.coop/index.php/apps/user_oidc/backchannel-logout/porta');
    const { metadata } = await buildClients(config, emptyDocuments);
    expect(metadata.find((m) => m.client_id === 'oficina')).toMatchObject({ backchannel_logout_session_required: true, token_endpoint_auth_method: 'client_secret_post' });
  });

  it('Discourse: no PKCE, client_secret_basic, the omniauth oidc callback', () => {
    const [client] = load('clients-discourse.yaml').idp.clients;
    expect(client).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_basic', requirePkce: false, redirectUris: ['https://agora.example.coop/auth/oidc/callback'] });
  });

  it('Greenlight: no PKCE, client_secret_basic, the openid_connect callback', () => {
    const [client] = load('clients-greenlight.yaml').idp.clients;
    expect(client).toMatchObject({ tokenEndpointAuthMethod: 'client_secret_basic', requirePkce: false, redirectUris: ['https://reunions.example.coop/auth/openid_connect/callback'] });
  });

  it('names the bad key of a client that cannot work', () => {
    const bad = { idp: { clients: [{ clientId: 'x', tokenEndpointAuthMethod: 'client_secret_basic', redirectUris: ['https://x.test/cb'] }, { clientId: 'x', redirectUris: [] }] } };
    try {
      parseConfig(bad);
      throw new Error('expected a ConfigError');
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      const keys = (error as ConfigError).problems.map((p) => p.key);
      expect(keys).toContain('idp.clients.0.clientSecret');
      expect(keys).toContain('idp.clients.1.redirectUris');
      expect(keys).toContain('idp.clients.1.clientId');
    }
  });
});
