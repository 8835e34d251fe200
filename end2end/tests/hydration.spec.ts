import { expect, test } from '@playwright/test';

// "Show" on a password field is client-side code only: it works once the wasm has hydrated
// the page, and must not work when the wasm cannot load. The blocked case is what proves this
// test can fail.
test('without the wasm the page renders but the password toggle does nothing', async ({ page }) => {
  await page.route('**/*.wasm', (route) => route.abort());
  await page.goto('/signin');
  await expect(page.getByRole('heading', { name: 'Sign in' })).toBeVisible();
  const password = page.getByLabel('Password', { exact: true });
  await page.getByRole('button', { name: 'Show' }).click();
  await page.waitForTimeout(500);
  await expect(password).toHaveAttribute('type', 'password');
});

test('with the wasm the password toggle works', async ({ page }) => {
  await page.goto('/signin');
  const password = page.getByLabel('Password', { exact: true });
  await expect(async () => {
    await page.getByRole('button', { name: /Show|Hide/ }).click();
    await expect(password).toHaveAttribute('type', 'text', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(page.getByRole('button', { name: 'Hide' })).toHaveAttribute('aria-pressed', 'true');
});
