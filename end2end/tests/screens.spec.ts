import { expect, test } from '@playwright/test';
import { ADMIN, CONSUMER, signIn, waitForHydration } from './helpers';

// Screens that do not surprise: a destructive action says what stops working and asks first;
// a refused save keeps every choice; a new mTLS API warns that it refuses every request; a
// consumer on an admin page is told, not redirected.

test('a delete asks for confirmation, says what stops working, then says what it did', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/apis');
  await expect(page).toHaveURL(/:\d+\/admin\/apis$/);
  const s = Date.now().toString(36);
  const name = `Doomed ${s}`;
  const created = await page.request.post('/api/v1/apis', {
    data: { name, listen_path: `/doomed-${s}`, upstream_url: 'http://127.0.0.1:9/', auth: 'auth_token', mtls: { required: false } },
  });
  expect(created.status(), await created.text()).toBe(201);
  const api = (await created.json()).id as string;
  const key = await page.request.post('/api/v1/keys', { data: { apis: [api] } });
  expect(key.status(), await key.text()).toBe(201);

  await page.goto(`/admin/apis/${api}`);
  await waitForHydration(page);
  const impact = page.getByTestId('impact').filter({ hasText: 'If you delete this API' });
  await expect(impact).toContainText(`Requests to /doomed-${s} get 404 from the next request.`);
  await expect(impact).toContainText('1 admin key grants only this API: it stops working.');

  // Without the box ticked nothing is sent: the page and the API stay.
  await page.getByRole('button', { name: 'Delete this API' }).click();
  await expect(page.getByTestId('api-title')).toHaveText(name);
  expect((await page.request.get(`/api/v1/apis/${api}`)).status()).toBe(200);

  await page.getByLabel('Yes, delete this API').check();
  await page.getByRole('button', { name: 'Delete this API' }).click();
  await expect(page).toHaveURL(/\/admin\/apis\?deleted=/);
  await expect(page.getByRole('status').filter({ hasText: `API “${name}” deleted.` })).toBeVisible();
  await expect(page.getByTestId('api-table')).not.toContainText(name);
});

test('revoking an admin key asks first, names what stops, and the token is shown only once', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/apis');
  await expect(page).toHaveURL(/:\d+\/admin\/apis$/);
  const s = Date.now().toString(36);
  const created = await page.request.post('/api/v1/apis', {
    data: { name: `Keyed ${s}`, listen_path: `/keyed-${s}`, upstream_url: 'http://127.0.0.1:9/', auth: 'auth_token' },
  });
  expect(created.status(), await created.text()).toBe(201);
  const api = (await created.json()).id as string;
  await page.goto(`/admin/apis/${api}`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Issue a key' }).click();
  const shown = page.getByTestId('new-key');
  await expect(shown).toContainText('shown this once');
  const token = (await shown.getByTestId('token').textContent())!.trim();
  expect(token).toMatch(/^cgk_/);
  await shown.getByRole('button', { name: 'I saved it: hide the token' }).click();
  await expect(page.getByTestId('new-key')).toHaveCount(0);
  await page.reload();
  await expect(page.getByText(token)).toHaveCount(0);

  await waitForHydration(page);
  const row = page.getByTestId('key-row');
  await expect(row).toHaveCount(1);
  await row.locator('summary').click();
  await expect(row).toContainText(`Its token is refused on API Keyed ${s} from the next request.`);
  await expect(row.getByRole('checkbox')).toHaveAccessibleName(/^Yes, revoke key_/);
  await row.getByRole('checkbox').check();
  await row.getByRole('button', { name: /^Revoke key_/ }).click();
  await expect(page.getByTestId('key-revoked')).toContainText(`its token is refused on API Keyed ${s} from the next request`);
  await expect(page.getByTestId('no-keys')).toBeVisible();
});

test('the API form keeps the authentication choice after a failed save', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/apis');
  await expect(page).toHaveURL(/:\d+\/admin\/apis$/);
  await waitForHydration(page);
  const s = Date.now().toString(36);

  // The create form: a refused listen path keeps the name, the kind and the mTLS choice.
  await page.getByLabel('Name', { exact: true }).fill(`Kept ${s}`);
  await page.getByLabel('Listen path').fill('/has space');
  await page.getByLabel('Upstream URL').fill('http://127.0.0.1:9/');
  await page.getByLabel('Authentication').selectOption('none');
  await page.getByLabel('Require a client certificate (mTLS)').uncheck();
  await page.getByRole('button', { name: 'Create API' }).click();
  await expect(page.locator('[data-field="listen_path"]')).toContainText('The listen path must start with');
  await expect(page.locator('[data-field="listen_path"]')).not.toContainText('listen_path');
  await expect(page.getByLabel('Authentication')).toHaveValue('none');
  await expect(page.getByLabel('Require a client certificate (mTLS)')).not.toBeChecked();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue(`Kept ${s}`);

  // Fixed and created: the form is empty again, the status links to the new API.
  await page.getByLabel('Listen path').fill(`/kept-${s}`);
  await page.getByRole('button', { name: 'Create API' }).click();
  await expect(page.getByTestId('api-created').getByRole('link', { name: `Kept ${s}` })).toBeVisible();
  await expect(page.getByLabel('Name', { exact: true })).toHaveValue('');
  await expect(page.getByLabel('Authentication')).toHaveValue('auth_token');
  await page.getByTestId('api-created').getByRole('link', { name: `Kept ${s}` }).click();
  await expect(page.getByTestId('api-title')).toHaveText(`Kept ${s}`);
  await waitForHydration(page);

  // The settings form: JWT without a key is refused at the key, and JWT stays chosen.
  await expect(page.getByTestId('jwt-settings')).toBeHidden();
  await page.getByLabel('Authentication').selectOption('jwt');
  await expect(page.getByTestId('jwt-settings')).toBeVisible();
  await page.getByLabel('Issuer (iss)').fill('https://issuer.example');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.locator('[data-field="jwt_key"]')).toContainText('Paste the key that checks the tokens');
  await expect(page.getByLabel('Authentication')).toHaveValue('jwt');
  await expect(page.getByTestId('jwt-settings')).toBeVisible();
  await expect(page.getByLabel('Issuer (iss)')).toHaveValue('https://issuer.example');
});

test('a new API that requires mTLS warns that it refuses every request until certificates are added', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/apis');
  await expect(page).toHaveURL(/:\d+\/admin\/apis$/);
  await waitForHydration(page);
  const s = Date.now().toString(36);
  await page.getByLabel('Name', { exact: true }).fill(`Closed ${s}`);
  await page.getByLabel('Listen path').fill(`/closed-${s}`);
  await page.getByLabel('Upstream URL').fill('http://127.0.0.1:9/');
  await page.getByRole('button', { name: 'Create API' }).click();
  await expect(page.getByTestId('created-refuses-everything')).toContainText('refuses every request until certificates are added');
  await page.getByTestId('api-created').getByRole('link', { name: `Closed ${s}` }).click();
  await expect(page.getByTestId('refuses-everything')).toContainText('This API refuses every request');
});

test('a consumer who opens an admin address is told they lack access', async ({ page }) => {
  await signIn(page, CONSUMER);
  await expect(page).toHaveURL(/\/$/);
  const response = await page.goto('/admin/apis');
  expect(response?.status()).toBe(403);
  await expect(page).toHaveURL(/:\d+\/admin\/apis$/);
  await expect(page.getByRole('heading', { name: 'You do not have access to this page' })).toBeVisible();
  await page.getByRole('link', { name: 'Go to your developer portal' }).click();
  await expect(page).toHaveURL(/\/$/);
});
