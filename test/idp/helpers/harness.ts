/**
 * Starts a real IdP over HTTP on a loopback port, with a real store (embedded SQLite file or Redis)
 * and the real embedded directory, seeded with two accounts and a collective. Also a back-channel
 * logout receiver and helpers to drive the login pages like a browser.
 */
import { createServer, type Server, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import * as oidc from 'openid-client';
import { parseConfig } from '../../../config/load.ts';
import type { PortaConfig } from '../../../config/schema/index.ts';
import { ManualClock } from '../../../kernel/clock.ts';
import { silentLogger } from '../../../kernel/logger.ts';
import { createStores } from '../../../store/index.ts';
import type { Stores } from '../../../store/types.ts';
import { EmbeddedDirectory } from '../../../directory/embedded/embedded-directory.ts';
import type { Account, Directory } from '../../../directory/types.ts';
import { createIdp, type Idp, type EntitlementsLookup } from '../../../idp/index.ts';
import { Browser, readForm } from './browser.ts';

export const PASSWORD = 'correct horse battery staple';

export const NEXTCLOUD = {
  clientId: 'oficina',
  clientSecret: 'oficina-secret-0123456789abcdef',
  redirectUri: 'http://oficina.test/index.php/apps/user_oidc/code',
  postLogout: 'http://oficina.test/',
};
export const DISCOURSE = {
  clientId: 'agora',
  clientSecret: 'agora-secret-0123456789abcdef',
  redirectUri: 'http://agora.test/auth/oidc/callback',
  postLogout: 'http://agora.test/',
};
export const SPA = { clientId: 'spa', redirectUri: 'http://spa.test/callback' };
export const SERVICE = { clientId: 'billing', clientSecret: 'billing-secret-0123456789abcdef' };
export const GATEWAY_URL = 'http://gateway.test';

export interface BackchannelReceiver {
  url: string;
  received: Array<{ path: string; form: URLSearchParams }>;
  /** Resolves once `count` logout tokens arrived (delivery is asynchronous to the logout). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export async function startBackchannelReceiver(): Promise<BackchannelReceiver> {
  const received: BackchannelReceiver['received'] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ path: req.url ?? '', form: new URLSearchParams(body) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      waiters.splice(0).forEach((w) => w());
    });
  });
  const port = await listen(server);
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    async waitFor(count, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`expected ${count} back-channel logout requests, got ${received.length}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 50);
        });
      }
    },
    close: () => closeServer(server),
  };
}

export type StoreChoice = { kind: 'embedded'; path?: string } | { kind: 'redis'; url: string; keyPrefix?: string };

export interface StartOptions {
  store?: StoreChoice;
  /** Extra keys of the `idp` config section. */
  idp?: Record<string, unknown>;
  entitlements?: EntitlementsLookup;
  /** The directory; default: the embedded one over the store. */
  makeDirectory?: (stores: Stores) => Directory;
  /** Wraps the directory given to the IdP (to simulate an outage). */
  wrapDirectory?: (directory: Directory) => Directory;
  /** Seed accounts (false when re-opening an existing file). */
  seed?: boolean;
  /** Listen on this port (to keep the issuer across a restart); default: any free one. */
  port?: number;
  /** express `trust proxy` of the host app; default `loopback`. */
  trustProxy?: string;
  /** config.server.trustedProxies; default none. */
  trustedProxies?: string[];
  /** The issuer, when several processes serve one (default: this listener's URL). */
  issuer?: string;
}

export interface IdpHarness {
  issuer: string;
  /** Where this process listens (equals `issuer` unless one was given). */
  url: string;
  config: PortaConfig;
  idp: Idp;
  stores: Stores;
  directory: Directory;
  clock: ManualClock;
  backchannel: BackchannelReceiver;
  alice: Account;
  bob: Account;
  dataDir: string;
  /** openid-client configuration for one of the test clients. */
  client(id: 'oficina' | 'agora' | 'spa' | 'billing' | string, secret?: string, auth?: oidc.ClientAuth): Promise<oidc.Configuration>;
  /** Opens `authUrl`, signs in on the login page, consents if asked; returns the callback URL with the code. */
  signIn(browser: Browser, authUrl: URL | string, redirectUri: string, login?: string, password?: string): Promise<string>;
  close(): Promise<void>;
}

export async function startIdp(options: StartOptions = {}): Promise<IdpHarness> {
  const clock = new ManualClock(Date.now());
  const backchannel = await startBackchannelReceiver();
  const dataDir = options.store?.kind === 'embedded' && options.store.path ? '' : mkdtempSync(join(tmpdir(), 'porta-idp-'));
  // The listener starts first (its port makes the issuer); the app is plugged in once built.
  const mounted: { app?: express.Express } = {};
  const server = createServer((req, res) => (mounted.app ? mounted.app(req, res) : res.writeHead(503).end()));
  const port = await listen(server, options.port);
  const url = `http://127.0.0.1:${port}`;
  const issuer = options.issuer ?? url;

  const storeChoice = options.store ?? { kind: 'embedded' };
  const config = parseConfig({
    store:
      storeChoice.kind === 'embedded'
        ? { kind: 'embedded', path: storeChoice.path ?? join(dataDir, 'porta.db') }
        : { kind: 'redis', url: storeChoice.url, keyPrefix: storeChoice.keyPrefix ?? `idp-test-${port}:` },
    gateway: { publicUrl: GATEWAY_URL },
    server: { trustedProxies: options.trustedProxies ?? [] },
    idp: {
      issuer,
      groupsPrefix: 'cc-',
      clients: [
        {
          clientId: NEXTCLOUD.clientId,
          clientSecret: NEXTCLOUD.clientSecret,
          name: 'Oficina',
          tokenEndpointAuthMethod: 'client_secret_post',
          redirectUris: [NEXTCLOUD.redirectUri],
          postLogoutRedirectUris: [NEXTCLOUD.postLogout],
          backchannelLogoutUri: `${backchannel.url}/backchannel-logout/oficina`,
        },
        {
          clientId: DISCOURSE.clientId,
          clientSecret: DISCOURSE.clientSecret,
          name: 'Agora',
          redirectUris: [DISCOURSE.redirectUri],
          postLogoutRedirectUris: [DISCOURSE.postLogout],
          requirePkce: false,
          firstParty: true,
        },
        { clientId: SPA.clientId, redirectUris: [SPA.redirectUri], firstParty: true, tokenEndpointAuthMethod: 'none' },
        { clientId: SERVICE.clientId, clientSecret: SERVICE.clientSecret, grantTypes: ['client_credentials'], scope: 'plan' },
      ],
      ...options.idp,
    },
  });
  const stores = await createStores(config.store, { clock, logger: silentLogger });
  const directory = options.makeDirectory ? options.makeDirectory(stores) : new EmbeddedDirectory({ documents: stores.documents, clock });
  let alice: Account;
  let bob: Account;
  if (options.seed === false) {
    alice = (await directory.findAccount('alice'))!;
    bob = (await directory.findAccount('bob'))!;
  } else {
    alice = await directory.createAccount({ username: 'alice', email: 'alice@example.org', name: 'Alice Puig', password: PASSWORD, emailVerified: true });
    bob = await directory.createAccount({ username: 'bob', email: 'bob@example.org', name: 'Bob Serra', password: PASSWORD });
    await directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: [] });
    await directory.addMember('femprocomuns', alice.id);
  }
  const idp = await createIdp({
    config,
    stores,
    directory: options.wrapDirectory ? options.wrapDirectory(directory) : directory,
    entitlements: options.entitlements,
    logger: silentLogger,
    clock,
  });
  const composed = express();
  // As the lead's server does for config.server.trustedProxies: tests set X-Forwarded-For to act from several addresses.
  composed.set('trust proxy', options.trustProxy ?? 'loopback');
  composed.use(idp.handler);
  composed.get('/api/v1/ping', (_req, res) => {
    res.json({ pong: true });
  });
  mounted.app = composed;

  const harness: IdpHarness = {
    issuer,
    url,
    config,
    idp,
    stores,
    directory,
    clock,
    backchannel,
    alice,
    bob,
    dataDir,
    async client(id, secret, auth) {
      const known: Record<string, string | undefined> = {
        [NEXTCLOUD.clientId]: NEXTCLOUD.clientSecret,
        [DISCOURSE.clientId]: DISCOURSE.clientSecret,
        [SERVICE.clientId]: SERVICE.clientSecret,
      };
      const clientSecret = secret ?? known[id];
      const method = auth ?? (id === NEXTCLOUD.clientId ? oidc.ClientSecretPost(clientSecret) : clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None());
      return oidc.discovery(new URL(issuer), id, clientSecret ? { client_secret: clientSecret } : undefined, method, { execute: [oidc.allowInsecureRequests] });
    },
    async signIn(browser, authUrl, redirectUri, login = 'alice', password = PASSWORD) {
      const loginPage = await browser.follow(String(authUrl), [redirectUri]);
      if (loginPage.location?.startsWith(redirectUri)) return loginPage.location;
      const form = readForm(loginPage, '/login');
      let page = await browser.follow(form.action, [redirectUri], { form: { ...form.fields, login, password } });
      if (page.location?.startsWith(redirectUri)) return page.location;
      const consent = readForm(page, '/confirm');
      page = await browser.follow(consent.action, [redirectUri], { form: consent.fields });
      if (page.location?.startsWith(redirectUri)) return page.location;
      throw new Error(`sign-in did not reach ${redirectUri}: status ${page.status} at ${page.url}\n${page.body.slice(0, 400)}`);
    },
    async close() {
      await idp.close();
      await closeServer(server);
      await backchannel.close();
      await directory.close();
      await stores.close();
      if (dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

/** A fresh PKCE pair, state and nonce. */
export async function pkce(): Promise<{ verifier: string; challenge: string; state: string; nonce: string }> {
  const verifier = oidc.randomPKCECodeVerifier();
  return { verifier, challenge: await oidc.calculatePKCECodeChallenge(verifier), state: oidc.randomState(), nonce: oidc.randomNonce() };
}
