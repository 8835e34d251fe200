import { expect, Page } from '@playwright/test';

export const ADMIN = { email: 'admin@certgate.local', password: 'demo-admin-password' };
export const CONSUMER = { email: 'dev@acme.example', password: 'demo-consumer-password' };

/** Waits until the wasm has hydrated the page: the password toggle only works then. */
export async function waitForHydration(page: Page) {
  await page.locator('body[data-hydrated="true"]').waitFor({ state: 'attached' });
}

export async function signIn(page: Page, who: { email: string; password: string }, path = '/signin') {
  await page.goto(path);
  await waitForHydration(page);
  await page.getByLabel('Email').fill(who.email);
  await page.getByLabel('Password', { exact: true }).fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

export async function expectSignedInAs(page: Page, email: string) {
  await expect(page.getByTestId('user-email')).toHaveText(email);
}

/** A consumer's new app, opened on its page (hydrated) from the creation's status link. */
export async function openNewApp(page: Page, name: string) {
  await page.goto('/portal/apps');
  await waitForHydration(page);
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Create app' }).click();
  await page.getByRole('status').getByRole('link', { name }).click();
  await expect(page.getByTestId('app-title')).toHaveText(name);
  await waitForHydration(page);
}

/** On an API's page: finds a certificate of the store by its label and adds it to the allow list. */
export async function allowFromStore(page: Page, label: string) {
  await page.getByLabel('Find a certificate in the store to add').fill(label);
  await page.getByRole('button', { name: 'Find', exact: true }).click();
  await expect(page).toHaveURL(/[?&]find=/);
  await waitForHydration(page);
  const escaped = label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  await page.getByRole('button', { name: new RegExp(`^Add ${escaped} \\(`) }).click();
  await expect(page.getByTestId('allowed-entry').filter({ hasText: label })).toHaveCount(1);
}
