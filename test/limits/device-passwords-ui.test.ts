/**
 * The device passwords section of the member page, in a real headless Chromium against a real Porta
 * (test/admin-ui/stack.ts): a member creates a password for a device, sees it once, finds it in the
 * list and revokes it; the password shown is the one the gateway accepts, until it is revoked.
 */
import { describe, it, expect, beforeAll, afterAll } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { startStack, type Stack } from '../admin-ui/stack.ts';
import { launchBrowser, newPerson, signIn, type Person } from '../admin-ui/browser.ts';
import { DevicePasswords } from '../../gateway/enforcers/webdav/device-passwords.ts';
import { systemClock } from '../../kernel/clock.ts';
import type { Account } from '../../directory/types.ts';

const PASSWORD = 'correct horse battery staple';

describe('admin UI: device passwords on the member page', () => {
  let stack: Stack;
  let browser: Browser;
  let member: Person;
  let laia: Account;

  beforeAll(async () => {
    stack = await startStack();
    browser = await launchBrowser();
    laia = await stack.directory.createAccount({ username: 'laia', email: 'laia@example.org', name: 'Laia Puig', password: PASSWORD, emailVerified: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
  });

  it('creates a password shown once, lists it and revokes it', async () => {
    member = await newPerson(browser);
    await signIn(member, stack.url, 'laia', PASSWORD, '/admin/account');
    const { page } = member;
    const section = page.locator('section', { has: page.getByRole('heading', { name: 'Passwords for sync apps' }) });
    await expect(section.getByText('No device passwords yet.').count()).resolves.toBe(1);

    // An empty name is refused, naming the field.
    await section.getByRole('button', { name: 'Create password' }).click();
    await section.locator('[aria-invalid="true"]').first().waitFor();

    await section.getByLabel('Device name').fill('Laptop');
    await section.getByRole('button', { name: 'Create password' }).click();
    await section.getByText('Password for Laptop created.', { exact: false }).waitFor();
    const password = (await section.locator('code.secret').textContent()) ?? '';
    expect(password).toMatch(/^[0-9a-f]{16}\./);
    expect(await section.locator('dd code').first().textContent()).toBe(laia.id);
    await expect(section.getByRole('cell', { name: 'Laptop' }).count()).resolves.toBe(1);

    const passwords = new DevicePasswords({ documents: stack.stores.documents, clock: systemClock });
    expect(await passwords.verify(laia.id, password)).toMatchObject({ name: 'Laptop' });

    // After a reload the password is gone from the page for good; the device stays listed.
    await page.reload();
    await section.getByRole('cell', { name: 'Laptop' }).waitFor();
    expect(await section.locator('code.secret').count()).toBe(0);

    await section.getByRole('button', { name: 'Revoke the password of Laptop' }).click();
    await section.getByText('No device passwords yet.').waitFor();
    expect(await passwords.verify(laia.id, password)).toBeUndefined();
    expect(member.problems).toEqual([]);
  }, 60_000);
});
