import { expect, test } from '@playwright/test';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ADMIN, signIn, waitForHydration } from './helpers';

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
  await expect(row).toContainText('day(s) left');

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
