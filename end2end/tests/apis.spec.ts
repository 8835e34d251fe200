import { expect, test } from '@playwright/test';
import { ADMIN, allowFromStore, signIn, waitForHydration } from './helpers';

test('an admin creates an API, manages its allow list from the certificate store, sees a refused setting, deletes it', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/apis');
  await expect(page).toHaveURL(/\/admin\/apis$/);
  await waitForHydration(page);
  // The demo API is listed.
  await expect(page.getByTestId('api-table')).toContainText('Portal health (demo)');

  await page.getByLabel('Name', { exact: true }).fill('Orders');
  await page.getByLabel('Listen path').fill('/orders/');
  await page.getByLabel('Upstream URL').fill('http://127.0.0.1:9/');
  await page.getByRole('button', { name: 'Create API' }).click();
  const link = page.getByTestId('api-table').getByRole('link', { name: 'Orders' });
  await expect(link).toBeVisible();
  await expect(page.getByTestId('api-table')).toContainText('/orders');

  // A listen path that is taken: a clear error.
  await page.getByLabel('Name', { exact: true }).fill('Orders again');
  await page.getByLabel('Listen path').fill('/orders');
  await page.getByLabel('Upstream URL').fill('http://127.0.0.1:9/');
  await page.getByRole('button', { name: 'Create API' }).click();
  await expect(page.getByRole('alert')).toContainText('Another API already uses this listen path');

  await link.click();
  await expect(page.getByTestId('api-title')).toHaveText('Orders');
  await waitForHydration(page);
  await expect(page.getByTestId('allowed-entry')).toHaveCount(0);
  await allowFromStore(page, 'Acme demo client');
  await expect(page.getByTestId('allowed-entry')).toHaveText(['Acme demo client']);
  await expect(page.getByTestId('allow-list')).toContainText('leaf pin');

  // JWT without a key is refused, and nothing changes.
  await page.getByLabel('Authentication').selectOption('jwt');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByRole('alert')).toContainText('Paste the key that checks the tokens');
  await page.reload();
  await expect(page.getByLabel('Authentication')).toHaveValue('auth_token');

  await waitForHydration(page);
  await page.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('allowed-entry')).toHaveCount(0);

  await page.getByLabel('Yes, delete this API').check();
  await page.getByRole('button', { name: 'Delete this API' }).click();
  await expect(page).toHaveURL(/\/admin\/apis\?deleted=Orders&__mark=[^&]+$/);
  await expect(page.getByRole('status')).toContainText('API “Orders” deleted.');
  await expect(page.getByTestId('api-table')).not.toContainText('Orders');
});
