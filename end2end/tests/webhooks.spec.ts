import { expect, test } from '@playwright/test';
import { createHmac } from 'node:crypto';
import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';
import { ADMIN, signIn, waitForHydration } from './helpers';

// A webhook registered in the admin page reaches a real receiver, signed as the Standard
// Webhooks specification says, with the secret the page showed once.
interface Received { headers: IncomingHttpHeaders; body: string }

test('an admin registers a webhook, sees its secret once, and a test event arrives signed', async ({ page }) => {
  const received: Received[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/${Date.now().toString(36)}`;
  try {
    await signIn(page, ADMIN, '/signin?next=/admin/webhooks');
    await expect(page).toHaveURL(/\/admin\/webhooks$/);
    await waitForHydration(page);
    await page.getByLabel('URL (http or https; redirects are not followed)').fill(url);
    await page.getByLabel(/A credential is revoked/).check();
    await page.getByRole('button', { name: 'Register webhook' }).click();
    const secret = (await page.getByTestId('webhook-secret').textContent()) ?? '';
    expect(secret).toMatch(/^whsec_/);
    // Hiding the secret loads the page again: the list then has the webhook.
    await page.getByRole('button', { name: 'I saved it: hide the secret' }).click();
    await expect(page.getByTestId('webhook-secret')).toHaveCount(0);
    const row = page.getByTestId('webhook-row').filter({ hasText: url });
    await expect(row.getByTestId('webhook-status')).toHaveText('Active');

    await row.getByRole('button', { name: `Send a test event to ${url}` }).click();
    await expect.poll(() => received.length, { timeout: 15_000 }).toBeGreaterThan(0);
    const { headers, body } = received[0];
    const id = String(headers['webhook-id']);
    const timestamp = String(headers['webhook-timestamp']);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
    expect(String(headers['webhook-signature']).split(' ')).toContain(`v1,${expected}`);
    expect(JSON.parse(body).type).toBe('webhook.test');

    // The secret is not shown again; the delivery log records the attempt.
    await page.reload();
    await expect(page.getByTestId('webhook-secret')).toHaveCount(0);
    expect(await page.content()).not.toContain(secret);
    await page.getByRole('link', { name: `Delivery log of ${url}` }).click();
    await expect(page.getByTestId('delivery-state').first()).toHaveText('delivered');
  } finally {
    receiver.close();
  }
});
