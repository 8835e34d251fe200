import { generateKeyPairSync } from 'node:crypto';
import { APIRequestContext, Browser, expect, test } from '@playwright/test';
import { ADMIN, CONSUMER, openNewApp, signIn, waitForHydration } from './helpers';

// The consumer's developer portal in the browser: catalogue, an app, access to a Managed
// product (the demo's Acme certificate is linked to Acme Corp), the token shown once, rotation
// and revocation with confirmations, and a refused private-key paste for a Self-Serve product.

let counter = 0;

/** The admin's REST calls, made with the admin's session cookie from a signed-in page: two
 *  APIs and products of each mode with a plan approved at once, named uniquely per call. */
async function adminSetup(browser: Browser) {
  const suffix = `${Date.now().toString(36)}-${counter++}`;
  const MANAGED = `Shop ${suffix}`;
  const SELF_SERVE = `Payments ${suffix}`;
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(/\/admin$/);
  const api = page.request;
  const post = async (request: APIRequestContext, path: string, data: unknown) => {
    const r = await request.post(`/api/v1${path}`, { data });
    expect(r.status(), `${path}: ${await r.text()}`).toBe(201);
    return (await r.json()).id as string;
  };
  const shop = await post(api, '/apis', {
    name: `Shop API ${suffix}`, listen_path: `/shop-${suffix}`, upstream_url: 'http://127.0.0.1:9/', auth: 'auth_token', mtls: { required: true },
  });
  const pay = await post(api, '/apis', {
    name: `Payments API ${suffix}`, listen_path: `/pay-${suffix}`, upstream_url: 'http://127.0.0.1:9/', auth: 'auth_token', mtls: { required: true },
  });
  const free = await post(api, '/plans', { name: `Free ${suffix}`, rate: { requests: 5, per_seconds: 1 }, auto_approve: true });
  await post(api, '/products', {
    name: MANAGED, apis: [shop], plans: [free], published: true, certificate_mode: 'managed', certificate_binding: true,
  });
  await post(api, '/products', {
    name: SELF_SERVE, apis: [pay], plans: [free], published: true, certificate_mode: 'self_serve', certificate_binding: true,
  });
  await context.close();
  return { suffix, MANAGED, SELF_SERVE };
}

test('a consumer browses the catalogue, gets a credential, sees the token once, rotates and revokes it', async ({ browser, page }) => {
  const { suffix, MANAGED } = await adminSetup(browser);
  await signIn(page, CONSUMER);
  await expect(page).toHaveURL(/\/$/);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Catalogue' }).click();
  const card = page.getByTestId('product').filter({ hasText: MANAGED });
  await expect(card).toContainText("your organisation's certificates are used");
  await card.getByRole('link', { name: MANAGED }).click();
  await expect(page.getByTestId('gateway-url')).toContainText(`/shop-${suffix}`);
  await expect(page.getByTestId('binding-text')).toContainText('Binding is on');

  const app = `Checkout ${suffix}`;
  await openNewApp(page, app);
  const form = page.getByRole('form', { name: `Request access to ${MANAGED}` });
  await expect(form.getByTestId('managed-certificates')).toContainText('Acme demo client');
  await form.getByRole('button', { name: `Request access to ${MANAGED}` }).click();
  const subscription = page.getByTestId('subscription').filter({ hasText: MANAGED });
  await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'no_token');

  // The token, once: shown with a copy button and a curl line; gone after a reload.
  await subscription.getByRole('button', { name: `Create token for ${MANAGED}` }).click();
  const token = (await page.getByTestId('token').textContent())!.trim();
  expect(token.length).toBeGreaterThan(40);
  await expect(page.getByTestId('curl')).toContainText(`--cert client.crt --key client.key -H "Authorization: Bearer ${token}" https://`);
  await expect(page.getByRole('button', { name: 'Copy the token' })).toBeVisible();
  // In place: the state follows, and the token cannot be made twice (the form is gone).
  await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'active');
  await expect(subscription.getByRole('button', { name: `Create token for ${MANAGED}` })).toHaveCount(0);
  await expect(page.getByTestId('token')).toHaveText(token);
  await page.reload();
  await waitForHydration(page);
  expect(await page.content()).not.toContain(token);
  await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'active');

  // Rotate with a chosen overlap (confirmed); the new token is shown once, the old one still works.
  await subscription.getByText('Rotate the token…').click();
  const rotate = page.getByRole('form', { name: `Rotate token for ${MANAGED}` });
  await rotate.getByLabel('Keep the current token working for (minutes, 0 to 1440)').fill('15');
  await rotate.getByLabel('I understand: after the overlap, the current token is refused.').check();
  await rotate.getByRole('button', { name: `Rotate token for ${MANAGED}` }).click();
  const rotated = (await page.getByTestId('token').textContent())!.trim();
  expect(rotated).not.toBe(token);
  await expect(page.getByTestId('new-token')).toContainText('previous token keeps working until');
  await page.getByRole('button', { name: 'I saved it: hide the token' }).click();
  await expect(page.getByTestId('new-token')).toHaveCount(0);

  // Revoke, confirmed.
  await subscription.getByText('Revoke the credential…').click();
  const revoke = page.getByRole('form', { name: `Revoke credential for ${MANAGED}` });
  await revoke.getByRole('checkbox').check();
  await revoke.getByRole('button', { name: `Revoke credential for ${MANAGED}` }).click();
  await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'revoked');

  // Delete the app (a plain form, confirmed): back on the list, without it.
  await page.getByText('Delete this app…').click();
  const remove = page.getByRole('form', { name: 'Delete the app' });
  await remove.getByRole('checkbox').check();
  await remove.getByRole('button', { name: `Delete app ${app}` }).click();
  await expect(page).toHaveURL(/\/portal\/apps$/);
  await expect(page.getByRole('heading', { name: 'Apps', exact: true })).toBeVisible();
  await expect(page.getByRole('link', { name: app, exact: true })).toHaveCount(0);
});

test('a pasted private key is refused, cleared and never shown back', async ({ browser, page }) => {
  const { suffix, SELF_SERVE } = await adminSetup(browser);
  await signIn(page, CONSUMER);
  await expect(page).toHaveURL(/\/$/);
  await openNewApp(page, `Keys ${suffix}`);
  const form = page.getByRole('form', { name: `Request access to ${SELF_SERVE}` });
  const field = form.getByLabel('Your client certificate (PEM)');
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const secretLine = key.split('\n')[1];
  await field.fill(key);
  await form.getByRole('button', { name: `Request access to ${SELF_SERVE}` }).click();
  await expect(form.getByRole('alert')).toContainText('This is a private key, not a certificate');
  await expect(field).toHaveValue('');
  expect(await page.content()).not.toContain(secretLine);
});

test('the portal pages read without wasm', async ({ page }) => {
  await signIn(page, CONSUMER);
  await expect(page).toHaveURL(/\/$/);
  await page.route('**/*.wasm', (route) => route.abort());
  for (const [path, heading] of [['/portal/products', 'Catalogue'], ['/portal/apps', 'Apps']]) {
    await page.goto(path);
    await expect(page.getByRole('heading', { name: heading, exact: true })).toBeVisible();
  }
  await page.goto('/portal/apps/app_not_yours');
  await expect(page.getByTestId('not-found')).toBeVisible();
});
