import AxeBuilder from '@axe-core/playwright';
import { APIRequestContext, Browser, BrowserContext, expect, Page, test } from '@playwright/test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { demoCa } from './gateway';
import { ADMIN, signIn, waitForHydration } from './helpers';
import { issueClientCertificate } from './pki';

// Every screen of both portals, with several rows in its lists, read twice: without wasm (the
// server's HTML must be readable on its own) and after hydration (the forms then work). Each
// time: every form control has a name and no two controls of a form share one (radio options of
// one group aside); per-row buttons and links have distinct names (links with the same name must
// go to the same place); after hydration, axe-core's WCAG 2 A/AA rules find nothing serious.

const STATE_DIR = path.join(__dirname, '..', 'test-results', 'accessibility');
const ADMIN_STATE = path.join(STATE_DIR, 'admin.json');
const CONSUMER_STATE = path.join(STATE_DIR, 'consumer.json');

/** What the setup made: ids for the detail pages and single-use links. */
type Data = Record<string, string>;
let data: Data = {};

async function post(request: APIRequestContext, url: string, body: unknown, status = 201) {
  const r = await request.post(`/api/v1${url}`, { data: body });
  expect(r.status(), `${url}: ${await r.text()}`).toBe(status);
  return r.json();
}

async function signedIn(browser: Browser, who: typeof ADMIN, file: string, landing: RegExp) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await signIn(page, who);
  await expect(page).toHaveURL(landing);
  await context.storageState({ path: file });
  return { context, request: page.request };
}

/** Beside the demo data: more APIs, plans and products, and requests in every state, so that
 *  every list has several rows with the same buttons; an invite and a reset link. The requests
 *  are an organisation's of its own (the other specs count the demo organisations' credentials),
 *  and the names share no word with the other specs' (they look links up by partial names). */
async function setup(browser: Browser): Promise<Data> {
  fs.mkdirSync(STATE_DIR, { recursive: true });
  const s = Date.now().toString(36);
  const admin = await signedIn(browser, ADMIN, ADMIN_STATE, /\/admin$/);
  const a = admin.request;

  const org = await post(a, '/organisations', { name: `Aurora ${s}` });
  const issued = issueClientCertificate(demoCa(), `Aurora client ${s}`, `Aurora ${s}`);
  const certificate = await post(a, '/certificates', { pem: issued.pem });
  const linked = await a.patch(`/api/v1/certificates/${certificate.id}`, { data: { organisations: [org.id] } });
  expect(linked.status(), await linked.text()).toBe(200);
  const who = { email: `dev-${s}@aurora.example`, password: 'an accessible long password' };
  await post(a, '/users', { ...who, organisation: org.id, role: 'org_admin' });
  const consumer = await signedIn(browser, who, CONSUMER_STATE, /\/$/);
  const c = consumer.request;

  const apis: string[] = [];
  for (const name of ['Quasar', 'Nebula', 'Pulsar']) {
    const api = await post(a, '/apis', {
      name: `${name} API ${s}`, listen_path: `/a11y-${name.toLowerCase()}-${s}`, upstream_url: 'http://127.0.0.1:9/', auth: 'auth_token', mtls: { required: true },
    });
    apis.push(api.id);
  }
  // Two admin keys of the first API: its page lists them, each with its own revoke form.
  await post(a, '/keys', { apis: [apis[0]] });
  await post(a, '/keys', { apis: [apis[0], apis[1]] });
  const reviewed = await post(a, '/plans', { name: `Deliberate ${s}`, rate: { requests: 5, per_seconds: 1 }, auto_approve: false });
  const instant = await post(a, '/plans', { name: `Immediate ${s}`, rate: { requests: 50, per_seconds: 60 }, auto_approve: true });
  const products: string[] = [];
  for (const [i, name] of ['Quasar', 'Nebula', 'Pulsar'].entries()) {
    const product = await post(a, '/products', {
      name: `${name} ${s}`, apis: [apis[i]], plans: [reviewed.id, instant.id], published: true, certificate_mode: 'managed', certificate_binding: i !== 1,
    });
    products.push(product.id);
  }

  // Acme's apps and requests: pending, approved, rejected, withdrawn, and one approved at once.
  const apps: string[] = [];
  for (const name of ['Lantern', 'Compass', 'Sextant']) apps.push((await post(c, '/portal/apps', { name: `${name} ${s}` })).id);
  const request = (app: string, product: string, plan: string) => post(c, `/portal/apps/${app}/access-requests`, { product, plan });
  const pending1 = await request(apps[0], products[0], reviewed.id);
  await request(apps[1], products[0], reviewed.id);
  await request(apps[2], products[1], reviewed.id);
  const approved = await request(apps[0], products[1], reviewed.id);
  const rejected = await request(apps[1], products[1], reviewed.id);
  const withdrawn = await request(apps[2], products[0], reviewed.id);
  await request(apps[0], products[2], instant.id);
  await post(a, `/access-requests/${approved.id}/approve`, {}, 200);
  await post(a, `/access-requests/${rejected.id}/reject`, { reason: 'No production use yet' }, 200);
  const r = await c.delete(`/api/v1/portal/access-requests/${withdrawn.id}`);
  expect(r.status(), await r.text()).toBeLessThan(300);
  // The first app's credentials: one with its token made (rotation and revocation forms), one without.
  const credentials = await c.get(`/api/v1/portal/apps/${apps[0]}/credentials`);
  expect(credentials.status(), await credentials.text()).toBe(200);
  const { items } = await credentials.json();
  expect(items.length, 'the first app has two credentials').toBe(2);
  await post(c, `/portal/credentials/${items[0].id}/token`, {});

  // An invite and a password reset, for their pages' forms.
  const invited = await post(a, '/users', { email: `invited-${s}@aurora.example`, organisation: org.id, role: 'org_admin' });
  const invite = await post(a, `/users/${invited.id}/invite`, {});
  const member = await post(a, '/users', { email: `member-${s}@aurora.example`, password: 'a long enough password', organisation: org.id, role: 'member' });
  const reset = await post(a, `/users/${member.id}/reset-link`, {});

  // Two webhooks (their rows' buttons must differ), one with a test delivery in its log.
  const hook = await post(a, '/webhooks', { url: `http://127.0.0.1:9/aurora-${s}`, events: ['credential.revoked'] });
  await post(a, '/webhooks', { url: `http://127.0.0.1:9/nebula-${s}`, events: ['access_request.created', 'credential.issued'] });
  await post(a, `/webhooks/${hook.id}/test`, {}, 202);

  const result: Data = {
    api: apis[0], plan: reviewed.id, product: products[0], organisation: org.id,
    certificate: certificate.id,
    pendingRequest: pending1.id, rejectedRequest: rejected.id,
    app: apps[0], portalProduct: products[0],
    invite: new URL(invite.url).pathname + new URL(invite.url).hash,
    reset: new URL(reset.url).pathname + new URL(reset.url).hash,
    webhook: hook.id,
  };
  await admin.context.close();
  await consumer.context.close();
  return result;
}

/** What one page breaks, read in the browser: unnamed controls, controls of one form sharing a
 *  name, per-row buttons and links sharing a name. Names as the accessible-name rules give
 *  them for these elements (aria-labelledby, aria-label, label, content, title). */
async function structuralProblems(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const squash = (s: string | null | undefined) => (s ?? '').replace(/\s+/g, ' ').trim();
    const textOf = (el: Element) => {
      const copy = el.cloneNode(true) as Element;
      copy.querySelectorAll('input, select, textarea, [aria-hidden="true"]').forEach((n) => n.remove());
      return squash(copy.textContent);
    };
    const byIds = (ids: string) => squash(ids.split(/\s+/).map((id) => document.getElementById(id)).filter((e): e is HTMLElement => !!e).map(textOf).join(' '));
    const common = (el: Element) => {
      const labelledBy = el.getAttribute('aria-labelledby');
      if (labelledBy && byIds(labelledBy)) return byIds(labelledBy);
      return squash(el.getAttribute('aria-label'));
    };
    const controlName = (el: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement) =>
      common(el) || squash(Array.from(el.labels ?? []).map(textOf).join(' ')) || squash(el.getAttribute('title'));
    const buttonName = (el: Element) =>
      common(el) || textOf(el) || (el instanceof HTMLInputElement ? squash(el.value) : '') || squash(el.getAttribute('title'));
    const describe = (el: Element) => {
      const html = el.outerHTML;
      return html.length > 160 ? `${html.slice(0, 160)}…` : html;
    };
    const hidden = (el: Element) => !!el.closest('[hidden], [aria-hidden="true"]');

    const problems: string[] = [];
    const groups = new Map<Element | Document, Map<string, Element[]>>();
    for (const el of Array.from(document.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>('input:not([type="hidden"]), select, textarea'))) {
      if (hidden(el)) continue;
      const name = controlName(el);
      if (!name) {
        problems.push(`control without a name: ${describe(el)}`);
        continue;
      }
      const form: Element | Document = el.form ?? el.closest('form') ?? document;
      const names = groups.get(form) ?? new Map<string, Element[]>();
      groups.set(form, names);
      const key = name.toLowerCase();
      names.set(key, [...(names.get(key) ?? []), el]);
    }
    for (const names of groups.values()) {
      for (const [name, els] of names) {
        if (els.length < 2) continue;
        const radios = els.every((e) => e instanceof HTMLInputElement && e.type === 'radio' && e.name === (els[0] as HTMLInputElement).name);
        if (!radios) problems.push(`${els.length} controls of one form named "${name}": ${els.map(describe).join(' | ')}`);
      }
    }

    const buttons = new Map<string, Element[]>();
    for (const el of Array.from(document.querySelectorAll('button, input[type="submit"], input[type="button"], input[type="reset"], [role="button"]'))) {
      if (hidden(el)) continue;
      const name = buttonName(el);
      if (!name) {
        problems.push(`button without a name: ${describe(el)}`);
        continue;
      }
      buttons.set(name.toLowerCase(), [...(buttons.get(name.toLowerCase()) ?? []), el]);
    }
    for (const [name, els] of buttons) {
      if (els.length > 1) problems.push(`${els.length} buttons named "${name}"`);
    }

    // Links in rows (tables and lists): one name, one destination.
    const links = new Map<string, Set<string>>();
    for (const el of Array.from(document.querySelectorAll<HTMLAnchorElement>('table a[href], ul a[href], ol a[href], dl a[href]'))) {
      if (hidden(el)) continue;
      const name = buttonName(el);
      if (!name) {
        problems.push(`link without a name: ${describe(el)}`);
        continue;
      }
      const hrefs = links.get(name.toLowerCase()) ?? new Set<string>();
      hrefs.add(el.href);
      links.set(name.toLowerCase(), hrefs);
    }
    for (const [name, hrefs] of links) {
      if (hrefs.size > 1) problems.push(`${hrefs.size} links named "${name}" to different places: ${Array.from(hrefs).join(', ')}`);
    }
    return problems;
  });
}

async function axeProblems(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `axe ${v.id} (${v.impact}): ${v.help}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

type Who = 'admin' | 'consumer' | 'nobody';
/** `bare`: a page served without wasm (the 403 page of the other portal): read once. */
interface Screen { name: string; who: Who; path: (d: Data) => string; heading: RegExp | string; bare?: boolean }

const SCREENS: Screen[] = [
  { name: 'admin home', who: 'admin', path: () => '/admin', heading: /./ },
  { name: 'admin certificates', who: 'admin', path: () => '/admin/certificates', heading: 'Certificates' },
  { name: 'admin certificate', who: 'admin', path: (d) => `/admin/certificates/${d.certificate}`, heading: /./ },
  { name: 'admin APIs', who: 'admin', path: () => '/admin/apis', heading: 'APIs' },
  { name: 'admin API', who: 'admin', path: (d) => `/admin/apis/${d.api}`, heading: /Quasar API/ },
  { name: 'admin organisations', who: 'admin', path: () => '/admin/organisations', heading: 'Organisations' },
  { name: 'admin organisation', who: 'admin', path: (d) => `/admin/organisations/${d.organisation}`, heading: /Aurora/ },
  { name: 'admin plans', who: 'admin', path: () => '/admin/plans', heading: 'Plans' },
  { name: 'admin plan', who: 'admin', path: (d) => `/admin/plans/${d.plan}`, heading: /Deliberate/ },
  { name: 'admin products', who: 'admin', path: () => '/admin/products', heading: 'Products' },
  { name: 'admin product', who: 'admin', path: (d) => `/admin/products/${d.product}`, heading: /Quasar/ },
  ...['pending', 'approved', 'rejected', 'withdrawn'].map((state): Screen => ({
    name: `admin access requests, ${state}`, who: 'admin', path: () => `/admin/access-requests?state=${state}`, heading: 'Access requests',
  })),
  { name: 'admin pending request', who: 'admin', path: (d) => `/admin/access-requests/${d.pendingRequest}`, heading: /./ },
  { name: 'admin rejected request', who: 'admin', path: (d) => `/admin/access-requests/${d.rejectedRequest}`, heading: /./ },
  { name: 'admin audit log', who: 'admin', path: () => '/admin/audit', heading: /Audit/ },
  { name: 'admin webhooks', who: 'admin', path: () => '/admin/webhooks', heading: 'Webhooks' },
  { name: 'admin webhook deliveries', who: 'admin', path: (d) => `/admin/webhooks?log=${d.webhook}`, heading: 'Webhooks' },
  { name: 'admin account', who: 'admin', path: () => '/account', heading: 'Change password' },
  { name: 'portal home (organisation certificates)', who: 'consumer', path: () => '/', heading: /Welcome/ },
  { name: 'portal catalogue', who: 'consumer', path: () => '/portal/products', heading: 'Catalogue' },
  { name: 'portal product', who: 'consumer', path: (d) => `/portal/products/${d.portalProduct}`, heading: /Quasar/ },
  { name: 'portal apps', who: 'consumer', path: () => '/portal/apps', heading: 'Apps' },
  { name: 'portal app with subscriptions', who: 'consumer', path: (d) => `/portal/apps/${d.app}`, heading: /Lantern/ },
  { name: 'portal account', who: 'consumer', path: () => '/account', heading: 'Change password' },
  { name: 'consumer on an admin page (403)', who: 'consumer', path: () => '/admin/apis', heading: 'You do not have access to this page', bare: true },
  { name: 'admin on a developer-portal page (403)', who: 'admin', path: () => '/portal/apps', heading: 'You do not have access to this page', bare: true },
  { name: 'sign-in', who: 'nobody', path: () => '/signin', heading: /Sign in/ },
  { name: 'invite', who: 'nobody', path: (d) => d.invite, heading: 'Choose your password' },
  { name: 'reset password', who: 'nobody', path: (d) => d.reset, heading: /password/i },
];

async function contextFor(browser: Browser, who: Who): Promise<BrowserContext> {
  if (who === 'admin') return browser.newContext({ storageState: ADMIN_STATE });
  if (who === 'consumer') return browser.newContext({ storageState: CONSUMER_STATE });
  return browser.newContext();
}

/** The page, read: its main heading shown and no "Loading…" left. */
async function expectRead(page: Page, heading: RegExp | string) {
  await expect(page.getByRole('heading', { level: 1, name: heading }).first()).toBeVisible();
  await expect(page.getByText('Loading…')).toHaveCount(0);
}

test('the checks find what they look for, and let radio groups and same-place links be', async ({ page }) => {
  await page.setContent(`
    <form>
      <input name="nameless">
      <label>Name <input name="a"></label><label for="b">Name</label><input id="b" name="b">
      <label><input type="radio" name="mode" value="x"> Mode</label><label><input type="radio" name="mode" value="y"> Mode</label>
      <label>Hidden <input type="hidden" name="h"></label>
    </form>
    <table><tr><td><a href="/r/1">Details</a><button>Approve</button></td></tr>
           <tr><td><a href="/r/2">Details</a><button>Approve</button></td></tr></table>
    <ul><li><a href="/docs">Docs</a></li><li><a href="/docs">Docs</a></li></ul>
    <button aria-label="Reject request 1">Reject</button><button aria-label="Reject request 2">Reject</button>`);
  const problems = await structuralProblems(page);
  expect(problems).toHaveLength(4);
  expect(problems[0]).toContain('control without a name: <input name="nameless">');
  expect(problems[1]).toContain('2 controls of one form named "name"');
  expect(problems[2]).toBe('2 buttons named "approve"');
  expect(problems[3]).toContain('2 links named "details" to different places');
});

test.describe('accessibility of every screen', () => {
  test.beforeAll(async ({ browser }) => {
    test.setTimeout(120_000);
    data = await setup(browser);
  });

  for (const screen of SCREENS) {
    test(`${screen.name}: names without wasm and after hydration, and axe`, async ({ browser }) => {
      test.setTimeout(60_000);
      const context = await contextFor(browser, screen.who);
      try {
        const target = screen.path(data);

        // The server's HTML alone (the links' tokens are read by wasm, so their forms wait for it).
        const bare = await context.newPage();
        await bare.route('**/*.wasm', (route) => route.abort());
        await bare.goto(target);
        await expectRead(bare, screen.heading);
        expect.soft(await structuralProblems(bare), `${target} without wasm`).toEqual([]);
        if (screen.bare) expect.soft(await axeProblems(bare), `${target} axe`).toEqual([]);
        await bare.close();
        if (screen.bare) return;

        const page = await context.newPage();
        await page.goto(target);
        await waitForHydration(page);
        await expectRead(page, screen.heading);
        expect.soft(await structuralProblems(page), `${target} after hydration`).toEqual([]);
        expect.soft(await axeProblems(page), `${target} axe`).toEqual([]);
      } finally {
        await context.close();
      }
    });
  }
});
