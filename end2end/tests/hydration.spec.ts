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

// Islands mode: the server renders every page, and only the interactive parts (islands) are
// in the wasm. Every page loads the same one wasm file and its JS glue, each at an address that
// carries its content hash (server/src/assets.rs), so a browser keeps them for a year.
const isWasm = (path: string) => /^\/pkg\/certgate\.[0-9a-f]{12}\.wasm$/.test(path);
const isGlue = (path: string) => /^\/pkg\/certgate\.[0-9a-f]{12}\.js$/.test(path);

function recordPkg(page: Page): string[] {
  const fetched: string[] = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.startsWith('/pkg/') && (path.endsWith('.wasm') || path.endsWith('.js'))) fetched.push(path);
  });
  return fetched;
}

test('the sign-in page hydrates with the one wasm file and its glue, both at hashed addresses', async ({ page }) => {
  const fetched = recordPkg(page);
  const response = await page.goto('/signin');
  await waitForHydration(page);
  const distinct = [...new Set(fetched)];
  expect(distinct.filter(isWasm)).toHaveLength(1);
  expect(distinct.filter(isGlue)).toHaveLength(1);
  expect(distinct.filter((p) => !isWasm(p) && !isGlue(p))).toEqual([]);
  const wasm = await page.request.get(distinct.find(isWasm)!);
  expect(wasm.headers()['cache-control']).toContain('immutable');
  expect(response?.headers()['cache-control']).not.toContain('immutable');
});

for (const area of [
  { who: ADMIN, landing: /\/admin$/, path: '/admin/plans', heading: 'Plans' },
  { who: CONSUMER, landing: /\/$/, path: '/portal/apps', heading: 'Apps' },
]) {
  test(`${area.path} hydrates with the same wasm file, and reads without it`, async ({ page }) => {
    await signIn(page, area.who);
    await expect(page).toHaveURL(area.landing);
    await expectSignedInAs(page, area.who.email);

    const fetched = recordPkg(page);
    await page.goto(area.path);
    await expect(page.getByRole('heading', { name: area.heading, exact: true })).toBeVisible();
    await waitForHydration(page);
    expect([...new Set(fetched)].filter(isWasm)).toHaveLength(1);
    expect(fetched.filter((p) => !isWasm(p) && !isGlue(p))).toEqual([]);

    // The wasm blocked: the server-rendered page still reads, but is never marked hydrated.
    await page.route('**/*.wasm', (route) => route.abort());
    await page.goto(area.path);
    await expect(page.getByRole('heading', { name: area.heading, exact: true })).toBeVisible();
    await page.waitForTimeout(1500);
    await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  });
}

// Plain form posts and the forms' memory (app/src/form_memory.rs).
test('a form posted before the wasm runs still shows its error; after, a refused form gets its fields back but never a password', async ({ page }) => {
  const email = `nobody-${Date.now().toString(36)}@certgate.local`;
  // The wasm is held back at will (routing turns the browser cache off: every page asks again).
  let release = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  await page.route('**/*.wasm', async (route) => {
    await gate;
    await route.continue();
  });
  // Before the wasm runs: a plain HTML form post.
  await page.goto('/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/__err=/);
  release();
  await waitForHydration(page);
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong email or password.' })).toBeVisible();

  // Hydrated: the password shown as text, refused again. Before the next page's wasm runs, the
  // tab's storage holds the email and not the password; then the email is put back.
  gate = new Promise<void>((resolve) => (release = resolve));
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password', { exact: true }).fill('not-the-password-2');
  await page.getByRole('button', { name: 'Show' }).click();
  await expect(page.getByLabel('Password', { exact: true })).toHaveAttribute('type', 'text');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong email or password.' })).toBeVisible();
  const kept = await page.evaluate(() => JSON.stringify({ ...sessionStorage }));
  expect(kept).toContain(encodeURIComponent(email));
  expect(kept).not.toContain('not-the-password-2');
  await expect(page.getByLabel('Email')).toHaveValue('');
  release();
  await waitForHydration(page);
  await expect(page.getByLabel('Email')).toHaveValue(email);
  await expect(page.getByLabel('Password', { exact: true })).toHaveValue('');
  await expect(page.getByRole('alert').filter({ hasText: 'Wrong email or password.' })).toBeVisible();
});
