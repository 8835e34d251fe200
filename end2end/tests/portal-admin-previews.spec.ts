import { expect, test } from '@playwright/test';
import { ADMIN, signIn, waitForHydration } from './helpers';

// On the --demo data. The previews are not applied here: other specs use the demo's credentials.

test('saving a product with live subscriptions first says what changes, in words', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/products');
  await expect(page).toHaveURL(/\/admin\/products$/);
  await page.getByRole('link', { name: 'Echo (Managed)' }).click();
  await waitForHydration(page);
  await page.getByLabel(/Certificate-token binding/).uncheck();
  await page.getByRole('button', { name: 'Save product' }).click();
  const preview = page.getByTestId('change-preview');
  await expect(preview).toContainText('credential of Acme Corp (app Acme Checkout; product Echo (Managed)) will no longer be bound');
  await expect(preview.getByRole('button', { name: 'Apply this change: save product Echo (Managed)' })).toBeVisible();
  // Not applied: the facts still say binding is on.
  await expect(page.getByTestId('product-binding').first()).toContainText('On');
});

test('unlinking an organisation\'s last certificate warns that its credentials stop working', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/certificates');
  await expect(page).toHaveURL(/\/admin\/certificates$/);
  await page.getByRole('link', { name: 'Acme demo client' }).first().click();
  await waitForHydration(page);
  await expect(page.getByTestId('used-by')).toContainText('App Acme Checkout of Acme Corp');
  await page.getByRole('button', { name: 'Unlink Acme Corp' }).click();
  await expect(page.getByTestId('stop-working')).toContainText('live credential stops working');
  await expect(page.getByTestId('change-preview')).toContainText('Acme demo client leaves it');
  await expect(page.getByTestId('linked-organisations')).toContainText('Acme Corp');
});

test('the audit log filters by kind, and an invite link is shown once with its expiry', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/audit');
  await expect(page).toHaveURL(/\/admin\/audit$/);
  await waitForHydration(page);
  await page.getByLabel('What').selectOption('certificate');
  await page.getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/kind=certificate/);
  const rows = page.getByTestId('audit-row');
  await expect(rows.first()).toBeVisible();
  for (const action of await rows.evaluateAll((els) => els.map((e) => e.getAttribute('data-action') ?? ''))) {
    expect(action.startsWith('certificate.')).toBeTruthy();
  }

  await page.goto('/admin/organisations');
  await page.getByRole('link', { name: 'Globex' }).click();
  await waitForHydration(page);
  const email = `e2e-${Date.now()}@globex.example`;
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Add consumer' }).click();
  await page.getByRole('button', { name: `Make an invite link for ${email}` }).click();
  await expect(page.getByTestId('link-url')).toContainText('/invite#token=');
  await expect(page.getByTestId('link-expiry')).not.toBeEmpty();
  await page.reload();
  await expect(page.getByTestId('link-url')).toHaveCount(0);
});
