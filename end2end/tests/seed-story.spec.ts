import { Browser, expect, Locator, Page, test } from '@playwright/test';
import { ADMIN, allowFromStore, CONSUMER, openNewApp, signIn, waitForHydration } from './helpers';
import { ClientCertificate, demoCa, demoClient, GATEWAY_ORIGIN, GatewayAnswer, gatewayGet } from './gateway';
import { issueClientCertificate } from './pki';

// The seed's story end to end, in the browser and at the gateway: the admin builds an
// Auth Token + mTLS product with certificate-token binding on the admin screens, a consumer
// asks for it, the admin approves, the consumer mints the token once, and real TLS requests
// show the token working with its own certificates only. Once in Managed mode (the
// organisation's certificates) and once in Self-Serve mode (a certificate the consumer
// uploads), the latter with rotation and revocation. The refused private-key paste is in
// portal-consumer.spec.ts.

const GLOBEX_CONSUMER = { email: 'dev@globex.example', password: CONSUMER.password };

let counter = 0;
/** Unique names: the tests share one server with the other specs. */
function unique(kind: string) {
  const suffix = `${Date.now().toString(36)}-${counter++}`;
  return {
    suffix,
    api: `Story ${kind} API ${suffix}`,
    listenPath: `/story-${kind.toLowerCase()}-${suffix}`,
    plan: `Story ${kind} plan ${suffix}`,
    product: `Story ${kind} ${suffix}`,
    app: `Story ${kind} app ${suffix}`,
  };
}
type Names = ReturnType<typeof unique>;

async function signedIn(browser: Browser, who: { email: string; password: string }, landing: RegExp): Promise<Page> {
  const page = await (await browser.newContext()).newPage();
  await signIn(page, who);
  await expect(page).toHaveURL(landing);
  return page;
}

// --- The admin's screens ---

/** The demo's echo upstream, read where an admin sees it: the APIs table. */
async function echoUpstream(admin: Page): Promise<string> {
  await admin.goto('/admin/apis');
  const row = admin.getByTestId('api-table').getByRole('row').filter({ hasText: 'Echo, Managed (demo)' });
  const upstream = (await row.locator('code').nth(1).textContent())!.trim();
  expect(upstream).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  return upstream;
}

/** A plan whose requests an admin approves (no auto-approval). */
async function createPlan(admin: Page, n: Names) {
  await admin.goto('/admin/plans');
  await waitForHydration(admin);
  await admin.getByLabel('Name', { exact: true }).fill(n.plan);
  await admin.getByLabel('Rate: requests').fill('60');
  await admin.getByLabel('Rate: per seconds').fill('60');
  await admin.getByRole('button', { name: 'Create plan' }).click();
  await expect(admin.getByTestId('plan-row').filter({ hasText: n.plan })).toContainText('By an admin');
}

/** An Auth Token + mTLS API in front of the echo, which is told the verified identity, with
 *  `alsoAllowed` (another organisation's valid certificate) on its allow list: the gateway
 *  then admits that certificate, so only the binding can refuse it with our token. */
async function createApi(admin: Page, n: Names, upstream: string, alsoAllowed: ClientCertificate) {
  await admin.goto('/admin/apis');
  await waitForHydration(admin);
  await admin.getByLabel('Name', { exact: true }).fill(n.api);
  await admin.getByLabel('Listen path').fill(n.listenPath);
  await admin.getByLabel('Upstream URL').fill(upstream);
  await expect(admin.getByLabel('Authentication')).toHaveValue('auth_token');
  await expect(admin.getByLabel('Require a client certificate (mTLS)')).toBeChecked();
  await admin.getByRole('button', { name: 'Create API' }).click();
  await admin.getByTestId('api-table').getByRole('link', { name: n.api, exact: true }).click();
  await expect(admin.getByTestId('api-title')).toHaveText(n.api);
  await waitForHydration(admin);

  await admin.getByLabel('Identity header to the upstream (optional)').fill('x-client-identity');
  await admin.getByRole('button', { name: 'Save settings' }).click();
  await expect(admin.getByRole('status')).toContainText('Saved');

  await allowFromStore(admin, alsoAllowed.label);
  await expect(admin.getByTestId('allowed-entry')).toHaveText([alsoAllowed.label]);
}

/** A published product over the API, offering the plan, in `mode` with binding on. */
async function createProduct(admin: Page, n: Names, mode: 'Managed' | 'Self-Serve') {
  await admin.goto('/admin/products');
  await waitForHydration(admin);
  await admin.getByLabel('Name', { exact: true }).fill(n.product);
  await admin.getByTestId('product-apis').getByLabel(n.api).check();
  await admin.getByLabel(n.plan).check();
  await admin.getByTestId('product-mode-fields').getByLabel(new RegExp(`^ ?${mode}`)).check();
  await admin.getByLabel(/Certificate-token binding/).check();
  await admin.getByLabel(/^ ?Published/).check();
  await admin.getByRole('button', { name: 'Create product' }).click();
  await expect(admin).toHaveURL(/\/admin\/products\/prd_/);
  await expect(admin.getByTestId('product-title')).toHaveText(n.product);
  await expect(admin.getByTestId('product-mode').first()).toContainText(mode);
  await expect(admin.getByTestId('product-binding').first()).toContainText('On');
}

const requestWords = (n: Names) => `request of app ${n.app} for product ${n.product}`;

/** Approves from the pending list; the request then shows under Approved. */
async function approveFromList(admin: Page, n: Names) {
  await admin.goto('/admin/access-requests');
  await waitForHydration(admin);
  const approve = admin.getByRole('button', { name: `Approve ${requestWords(n)}` });
  await approve.click();
  await expect(approve).toHaveCount(0);
  await admin.getByRole('navigation', { name: 'Request states' }).getByRole('link', { name: /^Approved/ }).click();
  await expect(admin.getByTestId('request-row').filter({ hasText: n.app })).toContainText(n.product);
}

// --- The consumer's screens ---

/** Requests the product for the open app; the app's page then lists the request as pending. */
async function requestAccess(page: Page, n: Names, fill?: (form: Locator) => Promise<void>) {
  const form = page.getByRole('form', { name: `Request access to ${n.product}` });
  if (fill) await fill(form);
  await form.getByRole('button', { name: `Request access to ${n.product}` }).click();
  await expect(page.getByTestId('request').filter({ hasText: n.product })).toHaveAttribute('data-state', 'pending');
}

/** Creates the token on the app's page (after the approval) and returns it. */
async function createToken(page: Page, n: Names): Promise<string> {
  await page.reload();
  await waitForHydration(page);
  const subscription = page.getByTestId('subscription').filter({ hasText: n.product });
  await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'no_token');
  await subscription.getByRole('button', { name: `Create token for ${n.product}` }).click();
  const token = (await page.getByTestId('token').textContent())!.trim();
  expect(token).toMatch(/^cgk_/);
  // The address the consumer is told is the gateway the test calls.
  await expect(subscription.getByTestId('gateway-url')).toHaveText(`${GATEWAY_ORIGIN}${n.listenPath}`);
  return token;
}

/** Shown once: gone after a reload, while the credential is active. */
async function expectTokenGoneAfterReload(page: Page, n: Names, token: string) {
  await page.reload();
  await waitForHydration(page);
  expect(await page.content()).not.toContain(token);
  const subscription = page.getByTestId('subscription').filter({ hasText: n.product });
  await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'active');
}

// --- The gateway ---

const call = (n: Names, client: ClientCertificate | null, token?: string) => gatewayGet(`${GATEWAY_ORIGIN}${n.listenPath}/hello?story=1`, client, token);

/** 200 from the echo, which saw the request (listen path stripped) and the verified certificate. */
function expectEchoed(answer: GatewayAnswer, client: ClientCertificate) {
  expect(answer.status, answer.text).toBe(200);
  expect(answer.json).toMatchObject({ upstream: 'certgate demo echo', method: 'GET', path: '/hello', query: 'story=1' });
  expect(answer.json.identity).toContain(`CN=${client.label}`);
}

/** A gateway refusal: problem+json with its stable code, never echoing the token. */
function expectRefused(answer: GatewayAnswer, status: number, code: string, token?: string) {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.contentType).toContain('application/problem+json');
  expect(answer.json?.code, answer.text).toBe(code);
  if (token) expect(answer.text).not.toContain(token);
}

test('Managed with binding: the admin builds the product, Acme gets a token that works only with its own certificate', async ({ browser, page }) => {
  test.slow();
  const n = unique('Managed');
  const acme = demoClient('client');
  const globex = demoClient('globex');
  const admin = await signedIn(browser, ADMIN, /\/admin$/);

  await test.step('1. the admin creates the API, a plan and a Managed product with binding on', async () => {
    await createApi(admin, n, await echoUpstream(admin), globex);
    await createPlan(admin, n);
    await createProduct(admin, n, 'Managed');
  });

  await test.step("2. Acme's consumer creates an app and requests access with the organisation's certificate", async () => {
    await signIn(page, CONSUMER);
    await expect(page).toHaveURL(/\/$/);
    await openNewApp(page, n.app);
    await requestAccess(page, n, async (form) => {
      await expect(form.getByTestId('managed-certificates')).toContainText(acme.label);
    });
    // Not approved yet: Acme's certificate is not on this API's allow list.
    expectRefused(await call(n, acme), 403, 'client_certificate_not_allowed');
  });

  await test.step('3. the admin approves on the Access requests page', async () => {
    await approveFromList(admin, n);
  });

  let token = '';
  await test.step('4. the consumer creates the token and sees it once', async () => {
    token = await createToken(page, n);
    const subscription = page.getByTestId('subscription').filter({ hasText: n.product });
    await expect(subscription.getByTestId('credential-certificates')).toContainText(acme.label);
    await expectTokenGoneAfterReload(page, n, token);
  });

  await test.step("5. the gateway: 200 with Acme's certificate, 401 certificate_binding_mismatch with Globex's", async () => {
    expectEchoed(await call(n, acme, token), acme);
    // Globex's certificate is admitted by this API (the admin allow-listed it)...
    expectRefused(await call(n, globex), 401, 'credential_missing');
    // ...but Acme's token is bound to Acme's certificates.
    const mismatch = await call(n, globex, token);
    expectRefused(mismatch, 401, 'certificate_binding_mismatch', token);
    expect(mismatch.wwwAuthenticate).toContain('error="invalid_token"');
  });
  await admin.context().close();
});

test('Self-Serve with binding: an uploaded certificate is reviewed and approved, its token is bound to it, rotated with an overlap and revoked', async ({ browser, page }) => {
  test.slow();
  const n = unique('SelfServe');
  const acme = demoClient('client');
  // A certificate no one has seen yet, issued by the demo CA for Globex's app.
  const fresh = issueClientCertificate(demoCa(), `Story upload ${n.suffix}`, 'Globex');
  const uploaded: ClientCertificate = { label: `Story upload ${n.suffix}`, cert: fresh.pem, key: fresh.keyPem };
  const admin = await signedIn(browser, ADMIN, /\/admin$/);

  await test.step('the admin creates the API, a plan and a Self-Serve product with binding on', async () => {
    await createApi(admin, n, await echoUpstream(admin), acme);
    await createPlan(admin, n);
    await createProduct(admin, n, 'Self-Serve');
  });

  await test.step("Globex's consumer uploads the certificate file (DER) with the request", async () => {
    await signIn(page, GLOBEX_CONSUMER);
    await expect(page).toHaveURL(/\/$/);
    await openNewApp(page, n.app);
    await requestAccess(page, n, async (form) => {
      await form.getByLabel('…or choose a file (PEM or DER)').setInputFiles({ name: 'story.der', mimeType: 'application/pkix-cert', buffer: fresh.der });
      // Read in the browser and sent as PEM.
      await expect(form.getByLabel('Your client certificate (PEM)')).toHaveValue(fresh.pem);
    });
    expectRefused(await call(n, uploaded), 403, 'client_certificate_not_allowed');
  });

  await test.step('the admin reviews the parsed certificate and approves', async () => {
    await admin.goto('/admin/access-requests');
    await admin.getByRole('link', { name: `Review ${requestWords(n)}` }).click();
    await expect(admin.getByTestId('request-mode')).toContainText('Self-Serve');
    await expect(admin.getByTestId('cert-subject')).toContainText(uploaded.label);
    await expect(admin.getByTestId('cert-issuer')).toContainText('certgate demo CA');
    await expect(admin.getByTestId('submitted-certificate')).toContainText(fresh.fingerprint);
    await expect(admin.getByTestId('cert-usable')).toHaveAttribute('data-usable', 'true');
    await waitForHydration(admin);
    await admin.getByRole('button', { name: `Approve ${requestWords(n)}` }).click();
    await expect(admin.getByTestId('request-state')).toHaveText('Approved');
  });

  let token = '';
  await test.step('the consumer creates the token; it works with the uploaded certificate only', async () => {
    token = await createToken(page, n);
    const subscription = page.getByTestId('subscription').filter({ hasText: n.product });
    await expect(subscription.getByTestId('credential-certificates')).toContainText(uploaded.label);
    await expectTokenGoneAfterReload(page, n, token);
    expectEchoed(await call(n, uploaded, token), uploaded);
    // Acme's certificate is allow-listed on this API, yet refused with this token: binding.
    expectRefused(await call(n, acme), 401, 'credential_missing');
    expectRefused(await call(n, acme, token), 401, 'certificate_binding_mismatch', token);
  });

  let rotated = '';
  await test.step('rotation with a 15-minute overlap: the old and the new token both work', async () => {
    const subscription = page.getByTestId('subscription').filter({ hasText: n.product });
    await subscription.getByText('Rotate the token…').click();
    const rotate = page.getByRole('form', { name: `Rotate token for ${n.product}` });
    await rotate.getByLabel('Keep the current token working for (minutes, 0 to 1440)').fill('15');
    await rotate.getByLabel('I understand: after the overlap, the current token is refused.').check();
    await rotate.getByRole('button', { name: `Rotate token for ${n.product}` }).click();
    rotated = (await page.getByTestId('token').textContent())!.trim();
    expect(rotated).toMatch(/^cgk_/);
    expect(rotated).not.toBe(token);
    await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'rotating');
    expectEchoed(await call(n, uploaded, token), uploaded);
    expectEchoed(await call(n, uploaded, rotated), uploaded);
    // The new token is bound like the old one.
    expectRefused(await call(n, acme, rotated), 401, 'certificate_binding_mismatch', rotated);
  });

  await test.step('revocation: both tokens are refused, and the certificate leaves the allow list', async () => {
    await page.getByRole('button', { name: 'I saved it: hide the token' }).click();
    await expect(page.getByTestId('new-token')).toHaveCount(0);
    const subscription = page.getByTestId('subscription').filter({ hasText: n.product });
    await subscription.getByText('Revoke the credential…').click();
    const revoke = page.getByRole('form', { name: `Revoke credential for ${n.product}` });
    await revoke.getByRole('checkbox').check();
    await revoke.getByRole('button', { name: `Revoke credential for ${n.product}` }).click();
    await expect(subscription.getByTestId('credential-status')).toHaveAttribute('data-status', 'revoked');
    // With a certificate the API still admits (the admin's entry), the tokens themselves are refused.
    expectRefused(await call(n, acme, rotated), 401, 'credential_invalid', rotated);
    expectRefused(await call(n, acme, token), 401, 'credential_invalid', token);
    // The uploaded certificate was admitted through the credential alone: now the allow list
    // refuses it, before any token is looked at.
    expectRefused(await call(n, uploaded, rotated), 403, 'client_certificate_not_allowed', rotated);
  });
  await admin.context().close();
});
