import { expect, Page, test } from '@playwright/test';
import { ADMIN, CONSUMER, expectSignedInAs, signIn, waitForHydration } from './helpers';

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

// The admin and developer-portal pages are lazy routes: their code is in wasm chunks split
// from the main bundle (cargo leptos build --split). The sign-in page needs the main bundle
// only; a page of an area fetches its chunk and cannot hydrate without it.
// The main bundle's address carries its content hash (server/src/assets.rs).
const isMainWasm = (path: string) => /^\/pkg\/certgate\.[0-9a-f]{12}\.wasm$/.test(path);

function recordWasm(page: Page): string[] {
  const fetched: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.wasm')) fetched.push(path);
  });
  return fetched;
}

test('the sign-in page hydrates with the main wasm bundle alone', async ({ page }) => {
  const fetched = recordWasm(page);
  await page.goto('/signin');
  await waitForHydration(page);
  const distinct = [...new Set(fetched)];
  expect(distinct).toHaveLength(1);
  expect(isMainWasm(distinct[0])).toBe(true);
});

for (const area of [
  { who: ADMIN, landing: /\/admin$/, path: '/admin/plans', heading: 'Plans' },
  { who: CONSUMER, landing: /\/$/, path: '/portal/apps', heading: 'Apps' },
]) {
  test(`${area.path} hydrates with its own wasm chunk, and not without it`, async ({ page }) => {
    await signIn(page, area.who);
    await expect(page).toHaveURL(area.landing);
    await expectSignedInAs(page, area.who.email);

    const fetched = recordWasm(page);
    await page.goto(area.path);
    await expect(page.getByRole('heading', { name: area.heading, exact: true })).toBeVisible();
    await waitForHydration(page);
    expect(fetched.some(isMainWasm)).toBe(true);
    expect(fetched.filter((path) => !isMainWasm(path)).length).toBeGreaterThan(0);

    // Chunks blocked: the server-rendered page still reads, but never hydrates.
    await page.route('**/*.wasm', (route) =>
      isMainWasm(new URL(route.request().url()).pathname) ? route.continue() : route.abort(),
    );
    await page.goto(area.path);
    await expect(page.getByRole('heading', { name: area.heading, exact: true })).toBeVisible();
    await page.waitForTimeout(1500);
    await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  });
}
