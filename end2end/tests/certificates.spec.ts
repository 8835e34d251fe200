import { expect, test } from '@playwright/test';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { demoCa } from './gateway';
import { ADMIN, signIn, waitForHydration } from './helpers';
import { issueClientCertificate } from './pki';

// A certificate made with openssl (its fingerprint is checked in server/core's unit tests too).
const FIXTURE = readFileSync(path.join(__dirname, '..', '..', 'server', 'core', 'tests', 'fixtures', 'client.pem'), 'utf8');
const FINGERPRINT_START = '8C:18:A1:C2:73:0D:2F:B6';

test('an admin uploads a certificate, sees it listed with its fingerprint, renames it; a pasted private key is refused', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/certificates');
  await expect(page).toHaveURL(/\/admin\/certificates$/);
  await waitForHydration(page);
  // The demo's certificates (its CA, both organisations' and Globex's Self-Serve one).
  await expect(page.getByTestId('certificate-row').first()).toBeVisible();
  const demoRows = await page.getByTestId('certificate-row').count();
  expect(demoRows).toBeGreaterThan(0);

  await page.getByLabel('Certificate (PEM)').fill(FIXTURE);
  await page.getByLabel('Name in the portal (optional)').fill('Fixture client');
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('status')).toContainText('Added Fixture client');

  const row = page.getByTestId('certificate-row').filter({ hasText: 'Fixture client' });
  await expect(row).toHaveCount(1);
  await expect(row.getByTestId('fingerprint')).toContainText(FINGERPRINT_START);
  // It expires in 2036: far-future validity reads as a date, not as thousands of days.
  await expect(row.getByTestId('validity')).toHaveText('Valid until 2036-11-21');

  // Rename on the detail page.
  await row.getByTestId('certificate-label').click();
  await expect(page.getByTestId('certificate-title')).toHaveText('Fixture client');
  await expect(page.getByTestId('detail-fingerprint')).toContainText(FINGERPRINT_START);
  await waitForHydration(page);
  await page.getByLabel('Display name').fill('Renamed client');
  await page.getByRole('button', { name: 'Save name' }).click();
  await expect(page.getByTestId('certificate-title')).toHaveText('Renamed client');

  // A private key pasted as a certificate: a clear error, nothing stored.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  await page.goto('/admin/certificates');
  await waitForHydration(page);
  await page.getByLabel('Certificate (PEM)').fill(keyPem);
  await page.getByRole('button', { name: 'Upload' }).click();
  await expect(page.getByRole('alert')).toContainText('This is a private key, not a certificate');
  await page.reload();
  // The demo's certificates and the renamed one: the key added nothing.
  await expect(page.getByTestId('certificate-row')).toHaveCount(demoRows + 1);
  await expect(page.getByTestId('certificate-label').filter({ hasText: 'Renamed client' })).toHaveCount(1);
});

test('the certificate list filters by expiry bucket', async ({ page }) => {
  await signIn(page, ADMIN, '/signin?next=/admin/certificates');
  // The path itself (the sign-in page's own URL ends with its `next`): signed in, the session
  // cookie is set for the uploads below.
  await page.waitForURL((url) => url.pathname === '/admin/certificates');
  // A certificate with 3 days left, and one with 200.
  const s = Date.now().toString(36);
  const soon = issueClientCertificate(demoCa(), `Expiring soon ${s}`, 'Acme Corp', 3);
  const later = issueClientCertificate(demoCa(), `Expiring later ${s}`, 'Acme Corp', 200);
  for (const issued of [soon, later]) {
    const r = await page.request.post('/api/v1/certificates', { data: { pem: issued.pem } });
    expect(r.status(), await r.text()).toBe(201);
  }
  await page.goto('/admin/certificates');
  await waitForHydration(page);
  const within7 = Number(await page.getByTestId('expiring-7').textContent());
  expect(within7).toBeGreaterThanOrEqual(1);

  // The count is a link to its filter: exactly that many rows, each with at most 7 days left.
  await page.getByTestId('expiring-7-link').click();
  await expect(page).toHaveURL(/[?&]expiry=7d/);
  await expect(page.getByTestId('certificate-row')).toHaveCount(within7);
  await expect(page.getByTestId('certificate-row').filter({ hasText: `Expiring soon ${s}` })).toHaveCount(1);
  await expect(page.getByTestId('certificate-row').filter({ hasText: `Expiring later ${s}` })).toHaveCount(0);
  for (const text of await page.getByTestId('validity').allTextContents()) expect(text).toMatch(/^[0-7] day\(s\) left$/);
  await expect(page.getByLabel('Expiry', { exact: true })).toHaveValue('7d');

  // The filter form: later than 30 days, searched by name; the URL can be shared.
  await waitForHydration(page);
  await page.getByLabel('Search', { exact: true }).fill(`Expiring later ${s}`);
  await page.getByLabel('Expiry', { exact: true }).selectOption('later');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await expect(page).toHaveURL(/[?&]expiry=later/);
  await expect(page.getByTestId('certificate-row')).toHaveCount(1);
  await expect(page.getByTestId('certificate-label')).toHaveText(`Expiring later ${s}`);
  await page.reload();
  await expect(page.getByTestId('certificate-label')).toHaveText(`Expiring later ${s}`);
  await page.getByRole('link', { name: 'Clear filters' }).click();
  await expect(page).toHaveURL(/\/admin\/certificates$/);
  await expect(page.getByTestId('certificate-row').filter({ hasText: `Expiring soon ${s}` })).toHaveCount(1);
});
