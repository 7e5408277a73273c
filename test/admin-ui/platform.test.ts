/**
 * The platform admin's pages in a real browser: accounts (search, plan, suspend), the mail outbox,
 * the audit log, usage charts, the billing report and its CSV, and reverting a policy version.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import { mkdirSync, readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { startStack, type Stack } from './stack.ts';
import { launchBrowser, newPerson, signIn, type Person, SHOTS } from './browser.ts';
import { createPlatformAdmin } from '../../directory/cli/admin-create.ts';
import { toLedgerEntry } from '../../metering/ledger-entry.ts';
import { USAGE_STREAM, type UsageRecord } from '../../metering/types.ts';
import type { Account } from '../../directory/types.ts';

const PASSWORD = 'correct horse battery staple';
const shot = (page: Page, name: string) => page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage: true });

/** `YYYY-MM` of the month before this one (UTC). */
function previousMonth(): { id: string; time: number } {
  const d = new Date();
  const time = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 10, 12);
  return { id: new Date(time).toISOString().slice(0, 7), time };
}

describe('admin UI: platform pages', () => {
  let stack: Stack;
  let browser: Browser;
  let admin: Person;
  let joan: Account;
  const last = previousMonth();

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    stack = await startStack();
    browser = await launchBrowser();
    await createPlatformAdmin(stack.directory, { username: 'ada', email: 'ada@example.org', password: PASSWORD, name: 'Ada Admin' });
    joan = await stack.directory.createAccount({ username: 'joan', email: 'joan@example.org', name: 'Joan Soler', password: PASSWORD, emailVerified: true });
    await stack.directory.createAccount({ username: 'marta', email: 'marta@example.org', name: 'Marta Vila', password: PASSWORD, emailVerified: true });
    await stack.directory.createCollective({ id: 'femprocomuns', name: 'femProcomuns', services: ['oficina', 'agora'] });
    await stack.directory.addMember('femprocomuns', joan.id);
    await stack.outbox.send({ to: 'marta@example.org', subject: 'Welcome to Porta', text: 'Hello Marta,\nconfirm your address: http://example.test/account/verify-email?token=abc\n' });
    await stack.subscriptions.create({ holder: { account: joan.id }, plan: 'oficina-basic', from: last.time - 40 * 86_400_000 }, 'system');
    const now = Date.now();
    const record = (time: number, service: string, units: UsageRecord['units'], collective?: string): UsageRecord => ({ id: randomUUID(), time, subject: joan.id, service, kind: 'request', units, ...(collective ? { collective } : {}) });
    await stack.stores.ledger.append(
      USAGE_STREAM,
      [
        record(now - 60_000, 'oficina', { requests: 120, bytesOut: 40 * 2 ** 20 }, 'femprocomuns'),
        record(now - 90_000, 'agora', { requests: 45 }, 'femprocomuns'),
        record(now - 120_000, 'meetings', { requests: 10 }),
        record(last.time, 'oficina', { requests: 300, storageByteDays: 2 ** 30 }),
        record(last.time + 1000, 'agora', { requests: 100 }),
      ].map(toLedgerEntry),
    );
    admin = await newPerson(browser);
    await signIn(admin, stack.url, 'ada', PASSWORD);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('searches accounts, gives one a plan through a subscription and suspends it', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByLabel('Search accounts').fill('joan');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    await page.waitForURL('**/admin/accounts?q=joan');
    await page.getByRole('heading', { name: 'Accounts found: 1' }).waitFor();
    const row = page.getByRole('row').filter({ hasText: 'joan@example.org' });
    expect(await row.getByText('oficina-basic').count()).toBe(1);

    await row.getByLabel('Plan to add to Joan Soler').selectOption('meetings-supporter');
    await row.getByRole('button', { name: 'Add the chosen plan to Joan Soler' }).click();
    await page.getByRole('row').filter({ hasText: 'joan@example.org' }).getByText('meetings-supporter').waitFor();
    const plans = (await stack.subscriptions.list()).filter((s) => 'account' in s.holder && s.holder.account === joan.id).map((s) => s.plan);
    expect(plans.sort()).toEqual(['meetings-supporter', 'oficina-basic']);

    await page.getByRole('row').filter({ hasText: 'joan@example.org' }).getByRole('button', { name: 'Suspend: Joan Soler' }).click();
    await page.getByRole('button', { name: 'Reactivate: Joan Soler' }).waitFor();
    expect((await stack.directory.getAccount(joan.id))?.status).toBe('suspended');
    await shot(page, 'accounts');
  }, 60_000);

  it('creates an account (a refused one names the field) and makes it a platform admin', async () => {
    const { page } = admin;
    await page.getByText('New account').click();
    await page.getByLabel('Username', { exact: true }).fill('pere');
    await page.getByLabel('Email', { exact: true }).fill('');
    await page.getByLabel('Name', { exact: true }).fill('Pere Roca');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForFunction(() => document.querySelector('[data-field="email"]')?.getAttribute('aria-invalid') === 'true');
    await page.getByLabel('Email', { exact: true }).fill('pere@example.org');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL('**/admin/accounts?q=pere');
    const pere = await stack.directory.findAccount('pere');
    expect(pere).toMatchObject({ email: 'pere@example.org', name: 'Pere Roca', platformAdmin: false });
    await page.getByRole('button', { name: 'Make platform admin: Pere Roca' }).click();
    await page.getByRole('button', { name: 'Remove platform admin: Pere Roca' }).waitFor();
    expect((await stack.directory.getAccount(pere!.id))?.platformAdmin).toBe(true);
  }, 60_000);

  it('reads the mail outbox and the audit log', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Mail outbox' }).click();
    await page.getByRole('heading', { name: 'Welcome to Porta' }).waitFor();
    expect(await page.locator('.mail-body').first().textContent()).toContain('confirm your address');
    await shot(page, 'outbox');

    await page.getByRole('link', { name: 'Audit log' }).click();
    const row = page.getByRole('row').filter({ hasText: 'account.update' }).filter({ hasText: joan.id });
    await row.first().waitFor();
    // Who acted is shown by username.
    expect(await row.first().getByRole('cell').first().textContent()).toBe('ada');
    await shot(page, 'audit');
  }, 60_000);

  it('shows usage charts per service and per collective', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Usage' }).click();
    const perService = page.getByRole('img', { name: 'Per service: Requests' });
    await perService.waitFor();
    expect(await perService.locator('text.chart-label').allTextContents()).toEqual(['oficina', 'agora', 'meetings']);
    expect(await perService.locator('text.chart-value').allTextContents()).toEqual(['120', '45', '10']);
    // Bars are drawn in proportion: the longest is oficina's.
    const widths = await perService.locator('rect.chart-bar').evaluateAll((rects) => rects.map((r) => Number(r.getAttribute('width'))));
    expect(widths[0]).toBeGreaterThan(widths[1]!);
    expect(widths[1]).toBeGreaterThan(widths[2]!);
    const perCollective = page.getByRole('img', { name: 'Per collective' });
    expect(await perCollective.locator('text.chart-value').allTextContents()).toEqual(['165']);
    const overTime = page.getByRole('img', { name: 'Requests over the last six months' });
    const values = await overTime.locator('text.chart-value').allTextContents();
    expect(values.slice(-2)).toEqual(['400', '175']);
    await shot(page, 'usage');
  }, 60_000);

  it('shows the billing report of a month and downloads it as CSV', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Billing' }).click();
    await page.getByRole('heading', { name: 'Billing report' }).waitFor();
    expect(await page.getByLabel('Month').inputValue()).toBe(last.id);
    await page.getByRole('button', { name: 'Download CSV' }).waitFor();
    // Joan's basic Oficina plan (5 €) is the only fee; it is split by his use.
    expect(await page.locator('dl.facts dd').first().textContent()).toMatch(/5[.,]00/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download CSV' }).click()]);
    expect(download.suggestedFilename()).toBe(`porta-billing-${last.id}.csv`);
    const csv = readFileSync((await download.path())!, 'utf8');
    expect(csv.split('\n')[0]).toMatch(/,/);
    expect(csv).toContain(joan.id);
    await shot(page, 'billing');

    // The fee split weights: a bad value is named at its field, a good one is saved.
    await page.getByLabel('Per GiB stored for a day').fill('lots');
    await page.getByRole('button', { name: 'Save weights' }).click();
    await page.waitForFunction(() => document.querySelector('[data-field="storageGiBDays"]')?.getAttribute('aria-invalid') === 'true');
    await page.getByLabel('Per GiB stored for a day').fill('20');
    await page.getByRole('button', { name: 'Save weights' }).click();
    await page.waitForFunction(() => (document.querySelector('[data-field="storageGiBDays"]') as HTMLInputElement | null)?.getAttribute('aria-invalid') !== 'true');
    await page.getByLabel('Per GiB stored for a day').waitFor();
    expect(await stack.porta.platform.metering.reporting.weights()).toMatchObject({ storageGiBDays: 20 });
  }, 60_000);

  it('restores an earlier policy version from the history', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Plans and rules' }).click();
    await page.locator('[data-field="plans.free.meetingMinutes"]').fill('90');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForURL('**/admin/policy/history');
    await page.getByRole('article').filter({ hasText: 'Version 2' }).waitFor();
    await page.getByRole('button', { name: 'Restore version 1' }).click();
    const v3 = page.getByRole('article').filter({ hasText: 'Version 3' });
    await v3.waitFor();
    expect(await v3.textContent()).toContain('Restored version 1');
    expect(await v3.getByRole('row').filter({ hasText: 'plans.free.meetingMinutes' }).locator('ins').textContent()).toBe('60');
    expect(stack.policies.current().version).toBe(3);
    expect(admin.problems).toEqual([]);
  }, 60_000);

  it("gives a collective a plan that covers its members", async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Collectives' }).click();
    await page.getByRole('link', { name: 'femProcomuns' }).click();
    await page.getByRole('heading', { level: 2, name: 'Plans' }).waitFor();
    await page.getByLabel('Plan', { exact: true }).selectOption('meetings-collective');
    await page.getByLabel('Covers its members').check();
    await page.getByRole('button', { name: 'Add plan' }).click();
    await page.getByRole('button', { name: 'End the plan meetings-collective' }).waitFor();
    const subs = (await stack.subscriptions.list()).filter((s) => 'collective' in s.holder && s.holder.collective === 'femprocomuns');
    expect(subs).toEqual([expect.objectContaining({ plan: 'meetings-collective', coversMembers: true })]);
  }, 60_000);

  it('refuses a policy edit made on a version someone else replaced meanwhile, and offers the latest', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Plans and rules' }).click();
    const field = page.locator('[data-field="plans.free.hostedMinutesPerDay"]');
    await field.waitFor();
    // Another admin saves first (through the store, as another process would).
    const current = stack.policies.current();
    const theirs = structuredClone(current.submitted) as { plans: Record<string, { name: string }> };
    theirs.plans.free!.name = 'Free account (renamed meanwhile)';
    await stack.policies.update(theirs, 'someone-else', current.version);
    await field.fill('150');
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.locator('.error-box.shown').waitFor();
    const versionAfterConflict = stack.policies.current().version;
    expect(versionAfterConflict).toBe(current.version + 1);
    await page.getByRole('button', { name: 'Load the latest version' }).click();
    await page.getByText(`Version ${versionAfterConflict} is in force.`, { exact: false }).waitFor();
  }, 60_000);

  it('explains why an account may or may not use a service', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Plans and rules' }).click();
    await page.getByLabel('Account (username, email or id)').fill('marta');
    await page.getByLabel('Service id').fill('oficina');
    await page.getByRole('button', { name: 'Explain' }).click();
    const answer = page.locator('pre.mail-body');
    await answer.waitFor();
    expect(await answer.textContent()).toContain('oficina');
    expect(['allowed', 'denied']).toContain(await page.locator('.badge').first().textContent());
    // A service that does not exist: the API says so, in the form's alert.
    await page.getByLabel('Service id').fill('nonexistent');
    await page.getByRole('button', { name: 'Explain' }).click();
    await page.locator('.error-box.shown').waitFor();
  }, 60_000);

  it('edits the whole policy as JSON: a new plan, and a bad one refused with the path of the problem', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Edit everything as JSON' }).click();
    const editor = page.getByLabel('The policy (JSON)');
    const doc = JSON.parse(await editor.inputValue());
    doc.plans['oficina-huge'] = { name: 'Oficina huge', price: { cents: 4000, period: 'month' }, holders: ['account'], storage: 'fifty gigs' };
    await editor.fill(JSON.stringify(doc, null, 2));
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    const alert = page.locator('.error-box.shown');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('plans.oficina-huge.storage');
    const before = stack.policies.current().version;
    doc.plans['oficina-huge'].storage = '50 GB';
    await editor.fill(JSON.stringify(doc, null, 2));
    await page.getByRole('button', { name: 'Save as a new version' }).click();
    await page.waitForURL('**/admin/policy/history');
    const latest = page.getByRole('article').filter({ hasText: `Version ${before + 1}` });
    await latest.getByRole('row').filter({ hasText: 'plans.oficina-huge' }).first().waitFor();
    expect(stack.policies.current().version).toBe(before + 1);
    expect(admin.problems).toEqual([]);
  }, 60_000);
});
