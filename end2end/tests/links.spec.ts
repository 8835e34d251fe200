import { test, expect, APIRequestContext } from '@playwright/test';
import { ADMIN, signIn, waitForHydration, expectSignedInAs } from './helpers';

const PASSWORD = 'an invited long password';

async function post(request: APIRequestContext, path: string, data: unknown) {
  const r = await request.post(`/api/v1${path}`, { data });
  expect(r.status(), `${path}: ${await r.text()}`).toBe(201);
  return r.json();
}

test('an invited consumer opens the link, chooses a password and is signed in', async ({ browser, page }) => {
  const suffix = Date.now().toString(36);
  const email = `invited-${suffix}@acme.example`;

  // The admin makes the consumer and the invite over REST with their session.
  const admin = await browser.newContext();
  const adminPage = await admin.newPage();
  await signIn(adminPage, ADMIN);
  await expect(adminPage).toHaveURL(/\/admin$/);
  const org = await post(adminPage.request, '/organisations', { name: `Invited ${suffix}` });
  const user = await post(adminPage.request, '/users', { email, organisation: org.id, role: 'member' });
  const invite = await post(adminPage.request, `/users/${user.id}/invite`, {});
  await admin.close();
  const link = new URL(invite.url);
  expect(link.hash).toMatch(/^#token=/);

  await page.goto(link.pathname + link.hash);
  await expect(page.getByRole('heading', { name: 'Choose your password' })).toBeVisible();
  await waitForHydration(page);
  const password = page.getByLabel('Password (at least 12 characters)', { exact: true });
  const repeat = page.getByLabel('Repeat the password', { exact: true });
  await expect(password).toBeEnabled();
  // The token left the address bar (and the history).
  await expect(page).toHaveURL(/\/invite$/);

  // Differing passwords are caught in the browser.
  await password.fill(PASSWORD);
  await repeat.fill(`${PASSWORD} typo`);
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'The two passwords differ' })).toBeVisible();

  await repeat.fill(PASSWORD);
  await page.getByRole('button', { name: 'Set password' }).click();
  await expect(page.getByText('Your password is set and you are signed in.')).toBeVisible();
  await page.getByRole('link', { name: 'Continue' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expectSignedInAs(page, email);

  // The new password signs in from another browser.
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signIn(otherPage, { email, password: PASSWORD });
  await expect(otherPage).toHaveURL(/\/$/);
  await expectSignedInAs(otherPage, email);

  // The link worked once.
  await otherPage.goto(link.pathname + link.hash);
  await waitForHydration(otherPage);
  await expect(otherPage.getByLabel('Password (at least 12 characters)', { exact: true })).toBeEnabled();
  await otherPage.getByLabel('Password (at least 12 characters)', { exact: true }).fill('another long password');
  await otherPage.getByLabel('Repeat the password', { exact: true }).fill('another long password');
  await otherPage.getByRole('button', { name: 'Set password' }).click();
  await expect(otherPage.getByRole('alert').filter({ hasText: 'used or revoked, or it expired' })).toBeVisible();
  await other.close();
});

test('the reset page without a token says so', async ({ page }) => {
  await page.goto('/reset-password');
  await expect(page.getByRole('heading', { name: 'Choose a new password' })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByTestId('no-token')).toBeVisible();
  await expect(page.getByLabel('Password (at least 12 characters)', { exact: true })).toBeDisabled();
});
