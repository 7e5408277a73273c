/** Signing keys: shared through the store, rotated by `porta keys rotate`, surviving restarts. */
import { describe, it, expect, afterAll } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oidc from 'openid-client';
import { createRemoteJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { startIdp, SERVICE, GATEWAY_URL, type IdpHarness } from './helpers/harness.ts';
import { runKeysCommand } from '../../idp/cli/keys.ts';
import { createStores } from '../../store/index.ts';
import { keyRetentionSeconds, loadCookieKeys, loadSigningKeys } from '../../idp/provider/keys.ts';
import { gatewayClientSecret } from '../../idp/provider/clients.ts';

async function jwksKids(h: IdpHarness): Promise<string[]> {
  const res = await fetch(`${h.issuer}/jwks`);
  const body = (await res.json()) as { keys: Array<{ kid: string; d?: string; kty: string; n?: string }> };
  for (const key of body.keys) {
    expect(key.d).toBeUndefined(); // never the private half
    expect(key.kty).toBe('RSA');
    expect(Buffer.from(key.n!, 'base64url').length * 8).toBeGreaterThanOrEqual(2048);
  }
  return body.keys.map((k) => k.kid);
}

async function gatewayToken(h: IdpHarness): Promise<string> {
  const cfg = await h.client(SERVICE.clientId);
  return (await oidc.clientCredentialsGrant(cfg, { resource: GATEWAY_URL })).access_token;
}

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('IdP keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'porta-idp-keys-'));
  const path = join(dir, 'porta.db');
  let h: IdpHarness | undefined;
  afterAll(async () => {
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps verifying a token issued before a rotation, signs new ones with the new key, and drops the old key later', async () => {
    h = await startIdp({ store: { kind: 'embedded', path } });
    const [firstKid] = await jwksKids(h);
    const before = await gatewayToken(h);
    expect(decodeProtectedHeader(before).kid).toBe(firstKid);

    const lines: string[] = [];
    expect(await runKeysCommand(['rotate'], { config: h.config, stores: h.stores, out: (l) => lines.push(l) })).toBe(0);
    const newKid = /New signing key (\S+)/.exec(lines.join('\n'))?.[1];
    expect(newKid).toBeDefined();
    // The running IdP hears of the rotation through the broadcast and reloads.
    await until(async () => (await jwksKids(h!)).length === 2, 'the new key to be published');
    expect(await jwksKids(h)).toEqual([newKid, firstKid]);

    const jwks = createRemoteJWKSet(new URL(`${h.issuer}/jwks`));
    await expect(jwtVerify(before, jwks, { issuer: h.issuer, audience: GATEWAY_URL })).resolves.toBeTruthy();
    await expect(h.idp.verifyAccessToken(before, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId });
    const after = await gatewayToken(h);
    expect(decodeProtectedHeader(after).kid).toBe(newKid);
    await expect(h.idp.verifyAccessToken(after, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId });

    // Once every token the old key signed has expired, it leaves the JWKS.
    h.clock.advance((keyRetentionSeconds(h.config) + 60) * 1000);
    await h.idp.reloadKeys();
    expect(await jwksKids(h)).toEqual([newKid]);
    await expect(h.idp.verifyAccessToken(before, GATEWAY_URL)).rejects.toMatchObject({ status: 401 });
  });

  it('keeps keys, cookie keys and the gateway secret across a restart over the same file', async () => {
    const port = new URL(h!.issuer).port;
    const kids = await jwksKids(h!);
    const token = await gatewayToken(h!);
    const secret = await gatewayClientSecret(h!.config, h!.stores.documents);
    const cookieKeys = await loadCookieKeys(h!.stores.documents);
    await h!.close();
    // Let the HTTP client notice its pooled connections to the old listener are gone.
    await new Promise((r) => setTimeout(r, 200));
    h = await startIdp({ store: { kind: 'embedded', path }, seed: false, port: Number(port) });
    // The same key signs (the replaced one may still be published: this process's clock has not advanced).
    expect((await jwksKids(h))[0]).toBe(kids[0]);
    expect(decodeProtectedHeader(await gatewayToken(h)).kid).toBe(kids[0]);
    await expect(h.idp.verifyAccessToken(token, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId });
    expect(await gatewayClientSecret(h.config, h.stores.documents)).toBe(secret);
    expect(await loadCookieKeys(h.stores.documents)).toEqual(cookieKeys);
  });

  it('agrees on one key when several processes start at once on an empty store', async () => {
    const stores = await createStores({ kind: 'embedded', path: ':memory:', keyPrefix: 'porta:' });
    try {
      const results = await Promise.all([loadSigningKeys(stores.documents), loadSigningKeys(stores.documents), loadSigningKeys(stores.documents)]);
      const first = results[0]!.map((k) => k.kid);
      expect(first).toHaveLength(1);
      for (const r of results) expect(r.map((k) => k.kid)).toEqual(first);
      expect((await loadSigningKeys(stores.documents)).map((k) => k.kid)).toEqual(first);
      const cookies = await Promise.all([loadCookieKeys(stores.documents), loadCookieKeys(stores.documents)]);
      expect(cookies[0]).toEqual(cookies[1]);
      expect(await loadCookieKeys(stores.documents, ['configured-cookie-key-0123456789abcdef'])).toEqual(['configured-cookie-key-0123456789abcdef']);
    } finally {
      await stores.close();
    }
  });

  it('explains its usage for anything but rotate', async () => {
    const lines: string[] = [];
    expect(await runKeysCommand(['spin'], { config: h!.config, stores: h!.stores, out: (l) => lines.push(l) })).toBe(2);
    expect(lines.join('\n')).toContain('porta keys rotate');
  });
});
