import { expect, test } from '@playwright/test';
import { ADMIN, signIn, waitForHydration } from './helpers';

test('an admin creates and renames an organisation', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/organisations');
  await expect(page).toHaveURL(/\/admin\/organisations$/);
  await waitForHydration(page);
  const name = `Initech ${Date.now()}`;
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByTestId('org-name').filter({ hasText: name })).toBeVisible();

  const renamed = `${name} Ltd`;
  await page.getByLabel(`New name for ${name}`).fill(renamed);
  await page.getByLabel(`New name for ${name}`).locator('..').getByRole('button', { name: 'Rename' }).click();
  await expect(page.getByTestId('org-name').filter({ hasText: renamed })).toBeVisible();
  // Survives a reload: it is in the store, not only on the page.
  await page.reload();
  await expect(page.getByTestId('org-name').filter({ hasText: renamed })).toBeVisible();
});

test('a duplicate organisation name shows a clear error', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/organisations');
  await expect(page).toHaveURL(/\/admin\/organisations$/);
  await waitForHydration(page);
  await page.getByLabel('Name', { exact: true }).fill('acme corp');
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('alert')).toContainText('already exists');
});
