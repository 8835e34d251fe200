import { expect, test } from '@playwright/test';
import { ADMIN, CONSUMER, expectSignedInAs, signIn, waitForHydration } from './helpers';

test('an admin signs in and lands on the admin portal', async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.getByRole('heading', { name: 'Admin portal' })).toBeVisible();
  await expectSignedInAs(page, ADMIN.email);
});

test('a wrong password shows an error and does not sign in', async ({ page }) => {
  await signIn(page, { email: ADMIN.email, password: 'not the right password' });
  await expect(page.getByRole('alert')).toHaveText('Wrong email or password.');
  await expect(page).toHaveURL(/\/signin/);
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/signin\?next=\/admin$/);
});

test('signing out ends the session', async ({ page }) => {
  await signIn(page, ADMIN);
  await expectSignedInAs(page, ADMIN.email);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto('/admin');
  await expect(page).toHaveURL(/\/signin\?next=\/admin$/);
});

test('a protected page sends you to sign-in and back', async ({ page }) => {
  await page.goto('/admin/organisations');
  await expect(page).toHaveURL(/\/signin\?next=\/admin\/organisations$/);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(ADMIN.email);
  await page.getByLabel('Password', { exact: true }).fill(ADMIN.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/admin\/organisations$/);
  await expect(page.getByRole('heading', { name: 'Organisations', exact: true })).toBeVisible();
});

test('a consumer sees the developer portal and is kept out of the admin area', async ({ page }) => {
  await signIn(page, CONSUMER);
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('organisation')).toHaveText('Acme Corp');
  // Told, not redirected: the admin area is not theirs, and the way back is offered.
  const response = await page.goto('/admin');
  expect(response?.status()).toBe(403);
  await expect(page.getByRole('heading', { name: 'You do not have access to this page' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to your developer portal' }).click();
  await expect(page).toHaveURL(/\/$/);
});
