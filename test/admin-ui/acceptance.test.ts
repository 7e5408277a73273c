/**
 * The admin UI's acceptance scenario, in a real headless Chromium against a real Porta (IdP, admin
 * API, admin UI) on loopback: a platform admin sets up a collective and edits a plan; its manager
 * invites a member who accepts and is granted the service; the member sees their usage bars; the
 * manager is refused another collective. Screenshots of the main pages go to docs/screenshots/.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from './stack.ts';
import { launchBrowser, newPerson, signIn, type Person, SHOTS } from './browser.ts';
import { createPlatformAdmin } from '../../directory/cli/admin-create.ts';
import { toLedgerEntry } from '../../metering/ledger-entry.ts';
import { USAGE_STREAM, type UsageRecord } from '../../metering/types.ts';
import type { Account } from '../../directory/types.ts';

const PASSWORD = 'correct horse battery staple';

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true });
}

describe('admin UI: the acceptance scenario in a real browser', () => {
  let stack: Stack;
  let browser: Browser;
  let admin: Person;
  let manager: Person;
  let member: Person;
  let joan: Account;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack();
    browser = await launchBrowser();
    await createPlatformAdmin(stack.directory, { username: 'ada', email: 'ada@example.org', password: PASSWORD, name: 'Ada Admin' });
    await stack.directory.createAccount({ username: 'marta', email: 'marta@example.org', name: 'Marta Vila', password: PASSWORD, emailVerified: true });
    joan = await stack.directory.createAccount({ username: 'joan', email: 'joan@example.org', name: 'Joan Soler', password: PASSWORD, emailVerified: true });
    // Another collective, with a member, that the manager must not see anything of.
    const secret = await stack.directory.createAccount({ username: 'nuria', email: 'nuria@example.org', name: 'Núria Secreta', password: PASSWORD, emailVerified: true });
    await stack.directory.createCollective({ id: 'cooperativa-secreta', name: 'Cooperativa Secreta', services: ['agora'] });
    await stack.directory.addMember('cooperativa-secreta', secret.id);
    // Joan holds Oficina medium (5 GB), so his ID token's quota claim says so.
    await stack.subscriptions.create({ holder: { account: joan.id }, plan: 'oficina-medium', from: Date.now() - 86_400_000 }, 'system');
    // Usage of the member this month: Oficina storage (a daily snapshot) and hosted meetings.
    const now = Date.now();
    const records: UsageRecord[] = [
      { id: randomUUID(), time: now - 60_000, subject: joan.id, service: 'oficina', kind: 'storage', units: { storageByteDays: 300 * 2 ** 20 } },
      { id: randomUUID(), time: now - 120_000, subject: joan.id, service: 'meetings', kind: 'meeting', units: { hostMinutes: 45, participantMinutes: 180 } },
      { id: randomUUID(), time: now - 180_000, subject: joan.id, service: 'oficina', kind: 'request', units: { requests: 12, bytesOut: 5 * 2 ** 20 } },
    ];
    await stack.stores.ledger.append(USAGE_STREAM, records.map(toLedgerEntry));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('a platform admin signs in through the real login page and creates a collective', async () => {
    admin = await newPerson(browser);
    await signIn(admin, stack.url, 'ada', PASSWORD);
    const { page } = admin;
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Collectives');
    await page.getByLabel('Name', { exact: true }).fill('femProcomuns');
    await page.getByLabel('Short id').fill('femprocomuns');
    await page.getByRole('button', { name: 'Create collective' }).click();
    await page.waitForURL('**/admin/collectives/femprocomuns');
    await page.getByRole('heading', { level: 1, name: 'femProcomuns' }).waitFor();
    expect(await stack.directory.getCollective('femprocomuns')).toMatchObject({ name: 'femProcomuns', services: [] });
  }, 60_000);

  it('gives the collective a service and a manager', async () => {
    const { page } = admin;
    // The services come from GET /api/v1/services (the configuration's), one checkbox each.
    await page.getByRole('checkbox', { name: 'Oficina' }).check();
    // Saving reloads the collective's page: wait for that reload before using the page again.
    const reloaded = page.waitForResponse((r) => r.request().method() === 'GET' && /\/api\/v1\/collectives\/femprocomuns$/.test(r.url()));
    await page.getByRole('button', { name: 'Save services' }).click();
    await reloaded;
    await page.getByRole('checkbox', { name: 'Oficina', checked: true }).waitFor();
    await page.waitForLoadState('networkidle'); // the page's later sections load after it
    expect((await stack.directory.getCollective('femprocomuns'))?.services).toEqual(['oficina']);

    await page.getByLabel('Username or email of the new manager').fill('marta');
    await page.getByRole('button', { name: 'Appoint manager' }).click();
    await page.getByRole('button', { name: 'Remove Marta Vila as manager' }).waitFor();
    const marta = await stack.directory.findAccount('marta');
    expect(await stack.directory.membershipsOf(marta!.id)).toEqual([{ collectiveId: 'femprocomuns', manager: true, grants: [] }]);
    await shot(page, 'collective-admin');
    await page.getByRole('link', { name: 'Collectives' }).click();
    await page.getByRole('link', { name: 'femProcomuns' }).waitFor();
    await shot(page, 'collectives');
  }, 60_000);

  it("edits a plan's quota, with the API's validation error shown at the field, and sees the change in history", async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Plans and rules' }).click();
    const storage = page.locator('[data-field="plans.oficina-basic.storage"]');
    await storage.waitFor();
    expect(await storage.inputValue()).toBe('1 GB');
    // A wrong value first: the API refuses it and says why, next to the field.
    await storage.fill('two gigabytes');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    const error = page.locator('[data-error-for="plans.oficina-basic.storage"]');
    await expect(error).toBeTruthy();
    await page.waitForFunction(() => document.querySelector('[data-error-for="plans.oficina-basic.storage"]')?.textContent?.includes('size'));
    expect(await storage.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-field'))).toBe('plans.oficina-basic.storage');
    await shot(page, 'policy-validation');
    expect(stack.policies.current().version).toBe(1);

    await storage.fill('2 GB');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForURL('**/admin/policy/history');
    const version2 = page.getByRole('article').filter({ hasText: 'Version 2' });
    await version2.waitFor();
    const row = version2.getByRole('row').filter({ hasText: 'plans.oficina-basic.storage' });
    expect(await row.locator('del').textContent()).toBe('"1 GB"');
    expect(await row.locator('ins').textContent()).toBe('"2 GB"');
    expect(await version2.getByRole('row').count()).toBe(2); // the header and the one change, nothing else
    expect(stack.policies.current().version).toBe(2);
    await shot(page, 'policy-history');
  }, 60_000);

  it('the manager invites a member by email; the member accepts and, once granted, sees the service', async () => {
    manager = await newPerson(browser);
    await signIn(manager, stack.url, 'marta', PASSWORD);
    const m = manager.page;
    expect(await m.getByRole('heading', { level: 1 }).textContent()).toBe('My collectives');
    // Only her collective, and no platform pages.
    expect(await m.getByRole('link', { name: 'Cooperativa Secreta' }).count()).toBe(0);
    expect(await m.getByRole('link', { name: 'Plans and rules' }).count()).toBe(0);
    await m.getByRole('link', { name: 'femProcomuns' }).click();
    await m.getByLabel('Email address to invite').fill('joan@example.org');
    await m.getByRole('button', { name: 'Send invitation' }).click();
    await m.getByRole('cell', { name: 'joan@example.org' }).waitFor();

    const mails = await stack.outbox.list({ to: 'joan@example.org' });
    expect(mails.items).toHaveLength(1);
    const link = /https?:\/\/\S*token=([^\s&]+)/.exec(mails.items[0]!.text);
    expect(link).not.toBeNull();
    const token = decodeURIComponent(link![1]!);

    member = await newPerson(browser);
    await signIn(member, stack.url, 'joan', PASSWORD, `/admin/invitation?token=${encodeURIComponent(token)}`);
    const j = member.page;
    expect(await j.getByRole('heading', { level: 1 }).textContent()).toBe('Invitation to a collective');
    await j.getByRole('button', { name: 'Accept the invitation' }).click();
    await j.getByText('You are now a member of femprocomuns.').waitFor();
    expect(await stack.directory.membershipsOf(joan.id)).toEqual([{ collectiveId: 'femprocomuns', manager: false, grants: [] }]);

    // The manager grants the collective's Oficina to the new member.
    await m.reload();
    const grant = m.getByRole('checkbox', { name: 'Grant oficina to Joan Soler' });
    await grant.check();
    await m.waitForFunction(() => document.getElementById('status')?.textContent?.includes('granted'));
    expect(await stack.directory.membershipsOf(joan.id)).toEqual([{ collectiveId: 'femprocomuns', manager: false, grants: ['oficina'] }]);
    await shot(m, 'collective-manager');

    await j.getByRole('link', { name: 'Go to my account' }).click();
    const row = j.getByRole('row').filter({ hasText: 'femprocomuns' });
    await row.waitFor();
    expect(await row.getByRole('listitem').allTextContents()).toEqual(['oficina']);
  }, 90_000);

  it('the member sees their usage against each quota as bars', async () => {
    const j = member.page;
    const storage = j.getByRole('meter', { name: 'Oficina storage' });
    await storage.waitFor();
    expect(await j.locator('.quota').filter({ hasText: 'Oficina storage' }).locator('.quota-text').textContent()).toBe('300 MB / 5 GB');
    expect(Number(await storage.getAttribute('value'))).toBeCloseTo(300 / 5120, 3);
    expect(await j.locator('.quota').filter({ hasText: 'Meeting minutes' }).locator('.quota-text').textContent()).toMatch(/^45 min \/ /);
    await shot(j, 'account');
  }, 60_000);

  it('the manager who opens another collective’s address is refused and sees nothing of it', async () => {
    const m = manager.page;
    await m.goto(`${stack.url}/admin/collectives/cooperativa-secreta`);
    await m.getByRole('heading', { level: 1 }).waitFor();
    const heading = await m.getByRole('heading', { level: 1 }).textContent();
    expect(['Not found', 'Not allowed']).toContain(heading);
    const text = await m.locator('main').textContent();
    expect(text).not.toContain('Cooperativa Secreta');
    expect(text).not.toContain('Núria');
    expect(text).not.toContain('agora');
    expect(await m.getByRole('alert').first().textContent()).toBeTruthy();
    await shot(m, 'refused');
  }, 60_000);

  it('the member renames themself, changes their password, leaves the collective and finally deletes their account', async () => {
    const j = member.page;
    await j.getByRole('link', { name: 'My account' }).click();
    await j.getByLabel('Name shown to others').fill('Joan Soler i Puig');
    await j.getByRole('button', { name: 'Save name' }).click();
    await j.getByText('Your name was saved.').waitFor();
    expect((await stack.directory.getAccount(joan.id))?.name).toBe('Joan Soler i Puig');

    // Password: a wrong current one is refused, then the change works.
    await j.getByLabel('Current password').fill('not my password at all');
    await j.getByLabel('New password', { exact: true }).fill('a brand new long passphrase');
    await j.getByLabel('New password again').fill('a brand new long passphrase');
    await j.getByRole('button', { name: 'Change password' }).click();
    await j.locator('.error-box.shown').waitFor();
    await j.getByLabel('Current password').fill(PASSWORD);
    await j.getByRole('button', { name: 'Change password' }).click();
    await j.getByText('Your password was changed.').waitFor();
    expect(await stack.directory.authenticate('joan', 'a brand new long passphrase')).toMatchObject({ id: joan.id });
    expect(await stack.directory.authenticate('joan', PASSWORD)).toBeUndefined();

    await j.getByRole('button', { name: 'Leave femProcomuns' }).click();
    await j.getByText('You do not belong to any collective.').waitFor();
    expect(await stack.directory.membershipsOf(joan.id)).toEqual([]);

    await j.getByRole('button', { name: 'Delete my account' }).click();
    await j.waitForURL(/\/session\/end/);
    expect(await stack.directory.getAccount(joan.id)).toBeUndefined();
  }, 60_000);

  it('raised no script errors and no Content-Security-Policy violations on any page', () => {
    for (const person of [admin, manager, member]) expect(person.problems).toEqual([]);
    // The only refusals: the invalid policy edit, the other collective (404 as if it did not exist),
    // and the password change with a wrong current password.
    expect(admin.failures).toEqual(['PUT 400 /api/v1/policy']);
    expect(manager.failures).toEqual(['GET 404 /api/v1/collectives/cooperativa-secreta']);
    expect(member.failures).toEqual(['POST 400 /api/v1/me/password']); // the wrong current password
  });
});
