/** Behind a TLS-offloading proxy: X-Forwarded-* count only when they come from a configured proxy. */
import { describe, it, expect, afterEach } from '@jest/globals';
import { startIdp, type IdpHarness } from './helpers/harness.ts';

const discovery = async (h: IdpHarness) =>
  (await (await fetch(`${h.issuer}/.well-known/openid-configuration`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'id.example.coop' } })).json()) as { token_endpoint: string };

describe('IdP behind a proxy', () => {
  let h: IdpHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('builds endpoint URLs from X-Forwarded-Proto/Host sent by a trusted proxy', async () => {
    h = await startIdp({ trustedProxies: ['127.0.0.1'], trustProxy: 'loopback' });
    expect((await discovery(h)).token_endpoint).toBe('https://id.example.coop/token');
  });

  it('ignores X-Forwarded-* from a peer that is not a configured proxy', async () => {
    h = await startIdp({ trustedProxies: ['10.1.2.3'], trustProxy: '10.1.2.3' });
    expect((await discovery(h)).token_endpoint).toBe(`${h.issuer}/token`);
  });

  it('ignores X-Forwarded-* when no proxy is configured', async () => {
    h = await startIdp();
    expect((await discovery(h)).token_endpoint).toBe(`${h.issuer}/token`);
  });
});
