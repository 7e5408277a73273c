/**
 * The browser flow against Porta's own IdP (`idp/`, with the embedded directory): the gateway sends
 * the browser to the IdP's login page, the person signs in with a password, comes back with a
 * session, and the upstream sees who they are. Signing out at the IdP ends the gateway session.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import http from 'node:http';
import express from 'express';
import { parseConfig } from '../../config/load.ts';
import { silentLogger } from '../../kernel/logger.ts';
import { createStores } from '../../store/index.ts';
import type { Stores } from '../../store/types.ts';
import { EmbeddedDirectory } from '../../directory/embedded/embedded-directory.ts';
import { createIdp, type Idp } from '../../idp/index.ts';
import { freePort } from '../helpers/ports.ts';
import { CLIENT_SECRET } from './helpers/tiny-idp.ts';
import { startEchoUpstream, type EchoUpstream, type Seen } from './helpers/echo-upstream.ts';
import { startGateway, type RunningGateway } from './helpers/harness.ts';
import { Browser, type Page } from './helpers/browser.ts';

const PASSWORD = 'correct horse battery staple';
let stores: Stores;
let idp: Idp;
let idpServer: http.Server;
let issuer: string;
let upstream: EchoUpstream;
let gw: RunningGateway;

/** The hidden fields and action of the first form whose action contains `part`. */
function form(page: Page, part: string): { action: string; fields: Record<string, string> } {
  const match = [...page.body.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)].find((f) => f[1].includes(part));
  if (!match) throw new Error(`no form "${part}" on ${page.url} (${page.status}): ${page.body.slice(0, 300)}`);
  const fields: Record<string, string> = {};
  for (const input of match[2].matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
    const name = /name="([^"]*)"/.exec(input[0])?.[1];
    if (name) fields[name] = (/value="([^"]*)"/.exec(input[0])?.[1] ?? '').replace(/&amp;/g, '&');
  }
  return { action: new URL(match[1].replace(/&amp;/g, '&'), page.url).href, fields };
}

beforeAll(async () => {
  const idpPort = await freePort();
  const gwPort = await freePort();
  issuer = `http://127.0.0.1:${idpPort}`;
  const config = parseConfig({
    store: { kind: 'embedded', path: ':memory:' },
    idp: { issuer },
    gateway: { publicUrl: `http://127.0.0.1:${gwPort}`, clientSecret: CLIENT_SECRET },
  });
  stores = await createStores(config.store);
  const directory = new EmbeddedDirectory({ documents: stores.documents });
  await directory.createAccount({ username: 'alice', email: 'alice@example.org', name: 'Alice Puig', password: PASSWORD, emailVerified: true });
  await directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: [] });
  await directory.addMember('femprocomuns', (await directory.findAccount('alice'))!.id);
  idp = await createIdp({ config, stores, directory, logger: silentLogger });
  const app = express();
  app.use(idp.handler);
  idpServer = http.createServer(app);
  await new Promise<void>((resolve) => idpServer.listen(idpPort, '127.0.0.1', resolve));
  upstream = await startEchoUpstream();
  gw = await startGateway({ port: gwPort, issuer, stores, services: [{ id: 'app', upstream: upstream.url, pathPrefix: '/' }] });
});

afterAll(async () => {
  await gw?.close();
  idpServer?.closeAllConnections();
  await new Promise<void>((resolve) => (idpServer ? idpServer.close(() => resolve()) : resolve()));
  await idp?.close();
  await upstream?.close();
  await stores?.close();
});

describe('browser flow with Porta\'s IdP', () => {
  it('302 to the IdP, password login, back with a session; the upstream sees the identity; IdP logout ends it', async () => {
    const browser = new Browser();
    const first = await browser.request(`${gw.url}/app/home`);
    expect(first.status).toBe(302);
    expect(first.location!.startsWith(`${issuer}/auth?`)).toBe(true);
    const loginPage = await browser.follow(first.location!);
    const login = form(loginPage, '/login');
    const page = await browser.follow(login.action, { form: { ...login.fields, login: 'alice', password: PASSWORD } });
    expect(page.url).toBe(`${gw.url}/app/home`);
    expect(page.status).toBe(200);
    const seen = JSON.parse(page.body) as Seen;
    const alice = await new EmbeddedDirectory({ documents: stores.documents }).findAccount('alice');
    expect(seen.headers['x-forwarded-user']).toBe(alice!.id);
    expect(seen.headers['x-forwarded-email']).toBe('alice@example.org');
    expect(seen.headers['x-forwarded-preferred-username']).toBe('alice');
    expect(String(seen.headers['x-forwarded-groups'])).toContain('femprocomuns');

    // Sign out at the IdP itself (not through the gateway): its back-channel logout reaches the
    // gateway before the IdP answers, so the very next request is refused.
    expect((await browser.request(`${gw.url}/app/again`)).status).toBe(200);
    const out = await browser.follow(`${issuer}/session/end`);
    const confirm = form(out, '/session/end/confirm');
    await browser.follow(confirm.action, { form: { ...confirm.fields, logout: 'yes' } });
    const after = await browser.request(`${gw.url}/app/home`, { headers: { accept: 'application/json' } });
    expect(after.status).toBe(401);
  });
});
