import { expect, test } from '@playwright/test';
import { waitForHydration } from './helpers';

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

test('with the wasm the password toggle works, under the CSP and without a violation', async ({ page }) => {
  // A blocked script or wasm shows as a console error naming the Content Security Policy,
  // and as a securitypolicyviolation event: either fails the test.
  const violations: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to (execute|compile|load)/i.test(message.text())) {
      violations.push(message.text());
    }
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content Security Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  const response = await page.goto('/signin');
  const policy = response?.headers()['content-security-policy'] ?? '';
  expect(policy).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9_-]{22,}' 'wasm-unsafe-eval'/);
  expect(policy).not.toContain('unsafe-inline');
  await waitForHydration(page);
  const password = page.getByLabel('Password', { exact: true });
  await expect(async () => {
    await page.getByRole('button', { name: /Show|Hide/ }).click();
    await expect(password).toHaveAttribute('type', 'text', { timeout: 500 });
  }).toPass({ timeout: 10_000 });
  await expect(page.getByRole('button', { name: 'Hide' })).toHaveAttribute('aria-pressed', 'true');
  expect(violations).toEqual([]);
});
