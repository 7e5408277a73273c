/** Two IdP processes over one Redis: same keys, shared tokens, rotations seen by both. */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { startRedis, type RedisServer } from '../helpers/redis-server.ts';
import { startIdp, SERVICE, GATEWAY_URL, type IdpHarness } from './helpers/harness.ts';
import { rotateKeys } from '../../idp/provider/keys.ts';

const basic = `Basic ${Buffer.from(`${SERVICE.clientId}:${SERVICE.clientSecret}`).toString('base64')}`;

async function post(base: string, path: string, form: Record<string, string>): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const kids = async (base: string) => ((await (await fetch(`${base}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid);

describe('several IdP processes sharing Redis', () => {
  let redis: RedisServer;
  let a: IdpHarness;
  let b: IdpHarness;
  beforeAll(async () => {
    redis = await startRedis();
    const keyPrefix = 'multi:';
    a = await startIdp({ store: { kind: 'redis', url: redis.url, keyPrefix } });
    b = await startIdp({ store: { kind: 'redis', url: redis.url, keyPrefix }, seed: false, issuer: a.issuer });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await redis?.stop();
  });

  it('publishes the same signing keys from both', async () => {
    expect(await kids(b.url)).toEqual(await kids(a.url));
  });

  it('verifies at one process a JWT access token issued by the other, and introspects its opaque tokens', async () => {
    const jwt = await post(a.url, '/token', { grant_type: 'client_credentials', resource: GATEWAY_URL });
    await expect(b.idp.verifyAccessToken(jwt.access_token as string, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId });
    const opaque = await post(a.url, '/token', { grant_type: 'client_credentials' });
    expect(await post(b.url, '/token/introspection', { token: opaque.access_token as string })).toMatchObject({ active: true, client_id: SERVICE.clientId });
  });

  it('makes both processes reload after a rotation, so either signs with the new key', async () => {
    const { signingKid } = await rotateKeys(a.stores);
    const deadline = Date.now() + 5000;
    while ((await kids(b.url))[0] !== signingKid || (await kids(a.url))[0] !== signingKid) {
      if (Date.now() > deadline) throw new Error('the rotation did not reach both processes');
      await new Promise((r) => setTimeout(r, 25));
    }
    const fromB = await post(b.url, '/token', { grant_type: 'client_credentials', resource: GATEWAY_URL });
    const header = JSON.parse(Buffer.from((fromB.access_token as string).split('.')[0]!, 'base64url').toString()) as { kid: string };
    expect(header.kid).toBe(signingKid);
    await expect(a.idp.verifyAccessToken(fromB.access_token as string, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId });
  });

  it('verifies a token signed with a key it missed the news of, by reloading from the store (at most every 30 s)', async () => {
    // A rotation whose broadcast never reached anyone.
    const silent = { documents: a.stores.documents, broadcast: { publish: async () => undefined, subscribe: async () => async () => undefined, connected: () => true, epoch: () => 0 } };
    const { signingKid } = await rotateKeys(silent);
    await a.idp.reloadKeys();
    const fromA = await post(a.url, '/token', { grant_type: 'client_credentials', resource: GATEWAY_URL });
    const token = fromA.access_token as string;
    expect(JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()).kid).toBe(signingKid);
    // B reloaded moments ago (the previous rotation): it does not reload again yet.
    await expect(b.idp.verifyAccessToken(token, GATEWAY_URL)).rejects.toMatchObject({ status: 401 });
    b.clock.advance(31_000);
    await expect(b.idp.verifyAccessToken(token, GATEWAY_URL)).resolves.toMatchObject({ sub: SERVICE.clientId });
  });
});
