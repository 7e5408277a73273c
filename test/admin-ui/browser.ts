/** Headless Chromium (Debian's) for the admin UI tests, and helpers to drive Porta's pages. */
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Where the tests save their screenshots: `docs/screenshots/` when PORTA_SCREENSHOTS=1 (to refresh
 * the pictures in the docs), else a temp folder, so an ordinary test run leaves the tree clean.
 */
export const SHOTS = process.env.PORTA_SCREENSHOTS
  ? new URL('../../docs/screenshots/', import.meta.url)
  : pathToFileURL(`${join(tmpdir(), 'porta-screenshots')}/`);

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

export interface Person {
  context: BrowserContext;
  page: Page;
  /** Script errors, console errors and CSP violations the page reported. */
  problems: string[];
  /** Answers with status 400 or more, as `METHOD status path`. */
  failures: string[];
}

/** A fresh browser profile (own cookies and storage), as a separate person would have. */
export async function newPerson(browser: Browser, options: { locale?: string; width?: number } = {}): Promise<Person> {
  const context = await browser.newContext({ locale: options.locale ?? 'en-GB', viewport: { width: options.width ?? 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  const failures: string[] = [];
  page.on('console', (message) => {
    // Failed requests are collected from the responses themselves, with their method and path.
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text());
  });
  page.on('response', (response) => {
    if (response.status() >= 400) failures.push(`${response.request().method()} ${response.status()} ${new URL(response.url()).pathname}`);
  });
  page.on('pageerror', (error) => problems.push(error.message));
  page.on('dialog', (dialog) => void dialog.accept());
  return { context, page, problems, failures };
}

/** Opens the admin UI and signs in through Porta's real login page. */
export async function signIn(person: Person, baseUrl: string, login: string, password: string, path = '/admin/'): Promise<void> {
  const { page } = person;
  await page.goto(`${baseUrl}${path}`);
  await page.getByRole('button', { name: /sign in|inicia la sessió|iniciar sesión/i }).click();
  await page.waitForURL(/\/interaction\//);
  await page.getByLabel(/username|email|usuari|correu|correo/i).first().fill(login);
  await page.getByLabel(/password|contrasenya|contraseña/i).first().fill(password);
  await page.getByRole('button', { name: /sign in|log in|continue|inicia|entra|iniciar|entrar/i }).first().click();
  await page.waitForURL((url) => url.pathname.startsWith('/admin/') && !url.pathname.startsWith('/admin/callback'));
  await page.locator('h1.page-title').first().waitFor();
}
