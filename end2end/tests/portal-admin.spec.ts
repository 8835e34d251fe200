import { expect, Page, test } from '@playwright/test';
import { ADMIN, signIn, waitForHydration } from './helpers';

async function createApi(page: Page, name: string, listenPath: string, mtls: boolean) {
  await page.goto('/admin/apis');
  await waitForHydration(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Listen path').fill(listenPath);
  await page.getByLabel('Upstream URL').fill('http://127.0.0.1:9/');
  await page.getByLabel('Require a client certificate (mTLS)').setChecked(mtls);
  await page.getByRole('button', { name: 'Create API' }).click();
  await expect(page.getByTestId('api-table').getByRole('link', { name })).toBeVisible();
}

test('an admin creates a plan and a Self-Serve product; the form explains the modes and keeps choices after a refusal', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/plans');
  await expect(page).toHaveURL(/\/admin\/plans$/);
  await waitForHydration(page);
  await page.getByLabel('Name', { exact: true }).fill('E2E Gold');
  await page.getByLabel('Rate: requests').fill('10');
  await page.getByLabel('Rate: per seconds').fill('60');
  await page.getByLabel('Quota: requests').fill('1000');
  await page.getByLabel('Quota: per').selectOption('day');
  await page.getByLabel('Token lifetime', { exact: true }).fill('30');
  await page.getByRole('button', { name: 'Create plan' }).click();
  const row = page.getByTestId('plan-row').filter({ hasText: 'E2E Gold' });
  await expect(row).toContainText('10 per minute');
  await expect(row).toContainText('1000 per day');
  await expect(row).toContainText('30 days');

  await createApi(page, 'E2E mtls', '/e2e-mtls/', true);
  await createApi(page, 'E2E token', '/e2e-token/', false);

  await page.goto('/admin/products');
  await waitForHydration(page);
  const modes = page.getByTestId('product-mode-fields');
  // Auth Token without mTLS: the form says why the modes do not apply and turns them off.
  await page.getByLabel(/E2E token/).check();
  await expect(page.getByTestId('mode-explanation')).toContainText('none requires a client certificate');
  await expect(modes.getByLabel(/^ ?Managed/)).toBeDisabled();
  await page.getByLabel(/E2E token/).uncheck();
  await page.getByLabel(/E2E mtls/).check();
  await expect(page.getByTestId('mode-explanation')).toHaveCount(0);
  await expect(modes.getByLabel(/^ ?Managed/)).toBeEnabled();

  await page.getByLabel('Name', { exact: true }).fill('E2E Shop');
  await page.getByLabel(/^ ?Self-Serve/).check();
  await page.getByLabel(/Certificate-token binding/).check();
  await page.getByLabel(/^ ?Published/).check();
  // Published without a plan: refused at the plans field, every choice kept.
  await page.getByRole('button', { name: 'Create product' }).click();
  await expect(page.locator('[data-field="plans"]')).toContainText('A published product needs at least one plan');
  await expect(page.getByLabel(/E2E mtls/)).toBeChecked();
  await expect(page.getByLabel(/^ ?Self-Serve/)).toBeChecked();
  await expect(page.getByLabel(/Certificate-token binding/)).toBeChecked();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('E2E Shop');

  await page.getByLabel('E2E Gold').check();
  await page.getByRole('button', { name: 'Create product' }).click();
  await expect(page).toHaveURL(/\/admin\/products\/prd_/);
  await expect(page.getByTestId('product-title')).toHaveText('E2E Shop');
  await expect(page.getByTestId('product-mode')).toContainText('Self-Serve');
  await expect(page.getByTestId('product-binding')).toContainText('On');

  // The plan the product offers cannot be deleted: the answer names the product.
  await page.goto('/admin/plans');
  await page.getByTestId('plan-table').getByRole('link', { name: 'E2E Gold' }).click();
  await expect(page.getByTestId('plan-title')).toHaveText('E2E Gold');
  await waitForHydration(page);
  await page.getByLabel('Yes, delete plan E2E Gold').check();
  await page.getByRole('button', { name: 'Delete plan E2E Gold' }).click();
  await expect(page.getByRole('alert')).toContainText('products E2E Shop offer it');
});

test('the access requests page has a tab per state with its count', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/access-requests');
  await expect(page).toHaveURL(/\/admin\/access-requests$/);
  const tabs = page.getByRole('navigation', { name: 'Request states' });
  for (const state of ['Pending', 'Approved', 'Rejected', 'Withdrawn']) {
    await expect(tabs.getByRole('link', { name: new RegExp(`^${state}\\s*\\d+$`) })).toBeVisible();
  }
  await expect(tabs.getByRole('link', { name: /^Pending/ })).toHaveAttribute('aria-current', 'page');
  await tabs.getByRole('link', { name: /^Rejected/ }).click();
  await expect(page).toHaveURL(/state=rejected/);
  await expect(tabs.getByRole('link', { name: /^Rejected/ })).toHaveAttribute('aria-current', 'page');
  // Reached from the admin navigation too.
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Products' }).click();
  await expect(page).toHaveURL(/\/admin\/products$/);
});
