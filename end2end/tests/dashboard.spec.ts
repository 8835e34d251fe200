import { expect, Page, test } from '@playwright/test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { DATA_DIR } from '../e2e-env';
import { ADMIN, signIn } from './helpers';
import { demoClient, GATEWAY_ORIGIN, gatewayGet } from './gateway';

// The admin's first screen after real traffic through the gateway: the counts of the last
// hour grow by exactly what the test sent (the suite runs one test at a time, so nothing else
// calls the gateway meanwhile), the charts are drawn, and the certificate that called reads
// as used.

async function count(page: Page, testid: string): Promise<number> {
  const text = (await page.getByTestId(testid).locator('.dash-stat-value').textContent())!.trim();
  return Number(text.replace(/,/g, ''));
}

test('the dashboard counts the requests and denials the gateway just answered', async ({ page }) => {
  await signIn(page, ADMIN);
  await expect(page).toHaveURL(/\/admin$/);
  await page.goto('/admin');
  const before = { requests: await count(page, 'count-requests-hour'), denials: await count(page, 'count-denials-hour') };
  expect(await count(page, 'count-apis')).toBeGreaterThanOrEqual(2);
  expect(await count(page, 'count-credentials')).toBeGreaterThanOrEqual(1);

  const token = readFileSync(path.join(DATA_DIR, 'demo', 'acme-managed.token'), 'utf8').split('\n')[0].trim();
  const url = `${GATEWAY_ORIGIN}/demo-managed/hello?dashboard=1`;
  for (let i = 0; i < 3; i++) {
    expect((await gatewayGet(url, demoClient('client'), token)).status).toBe(200);
  }
  // Refused: another organisation's certificate with Acme's bound token, and no token at all.
  expect((await gatewayGet(url, demoClient('globex'), token)).json.code).toBe('certificate_binding_mismatch');
  expect((await gatewayGet(url, demoClient('client'))).status).toBe(401);

  await page.goto('/admin');
  await expect.poll(async () => (await count(page, 'count-requests-hour')) - before.requests).toBe(5);
  expect((await count(page, 'count-denials-hour')) - before.denials).toBe(2);
  // The counts link to their lists.
  await expect(page.getByTestId('count-pending')).toHaveAttribute('href', '/admin/access-requests?state=pending');
  await expect(page.getByTestId('count-expiring-7')).toHaveAttribute('href', '/admin/certificates?expiry=7d');

  // Charts drawn on the server, named for screen readers.
  const traffic = page.getByRole('region', { name: 'Gateway traffic' });
  await expect(traffic.getByRole('img', { name: /^All APIs: \d+ requests, \d+ denied/ })).toBeVisible();
  await expect(traffic.getByRole('img', { name: /^Top APIs, last 24 hours/ })).toContainText('Echo, Managed (demo)');
  await expect(traffic.getByRole('img', { name: /denials by reason/ })).toContainText('certificate_binding_mismatch');
  await expect(page.getByTestId('series-memory')).toContainText('KB');

  // Acme's certificate was just used: its page says on which API, and the list's "never
  // used" filter leaves it out.
  const acme = (p: Page) => p.getByTestId('certificate-row').filter({ has: p.getByTestId('certificate-label').getByText('Acme demo client', { exact: true }) });
  await page.goto('/admin/certificates?q=Acme+demo+client');
  await expect(acme(page)).toHaveCount(1);
  await expect(acme(page).getByTestId('last-used')).not.toHaveText('Never');
  await page.goto('/admin/certificates?q=Acme+demo+client&used=never');
  await expect(page.getByLabel('Last used on an API')).toHaveValue('never');
  await expect(acme(page)).toHaveCount(0);
  await page.goto('/admin/certificates?q=Acme+demo+client');
  await acme(page).getByTestId('certificate-label').click();
  await expect(page.getByTestId('last-seen-row').filter({ hasText: 'Echo, Managed (demo)' })).toBeVisible();
});
