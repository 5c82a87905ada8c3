import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, login, startStack, waitFor, type Stack } from './support/stack';
import { bearer, createHost } from './support/inventory';

/**
 * The web console in a real browser (system Chromium driven by playwright-core; browsers are never
 * downloaded — CI installs /usr/bin/chromium). Boots auth + inventory + audit behind one gateway,
 * which serves web/public at `/`.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT = '/tmp/opsdesk-console.png';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let stack: Stack;
let admin: string;
let context: BrowserContext;
let page: Page;
let profileDir: string;
const pageErrors: string[] = [];
const hostnames = ['console-web-1', 'console-db-2', 'console-cache-3'];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`console e2e needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); browsers are never downloaded`);
  }
  stack = await startStack('consolee2e', { services: ['auth', 'inventory', 'audit'], env: { RATE_LIMIT_API_PER_MINUTE: '100000' } });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  await createHost(stack, admin, { hostname: hostnames[0], ip: '192.0.2.11', environment: 'prod', criticality: 'critical', owner: 'alice@example.com', team: 'web', tags: ['edge', 'nginx'] });
  await createHost(stack, admin, { hostname: hostnames[1], ip: '192.0.2.12', environment: 'stage', criticality: 'high', owner: 'bob@example.com', team: 'data', tags: ['postgres'] });
  await createHost(stack, admin, { hostname: hostnames[2], ip: '192.0.2.13', environment: 'dev', criticality: 'low', team: 'web', tags: ['redis'] });

  // a fresh profile per run: no cookies, storage or cache from anything else
  profileDir = mkdtempSync(join(tmpdir(), 'opsdesk-console-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 800 },
    timeout: 30_000,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(10_000);
  // any uncaught script error or CSP violation in the console fails the suite (checked in afterAll)
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of 40[14]/.test(msg.text())) pageErrors.push(msg.text());
  });
}, 120_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await stack?.stop();
});

/** Rows of the hosts table as hostnames. */
async function shownHostnames(): Promise<string[]> {
  return page.locator('#hosts-table tbody tr td:first-child').allTextContents();
}

/** Waits until the hosts table shows exactly these hostnames (any order). */
async function waitForHosts(expected: string[]): Promise<void> {
  const want = [...expected].sort();
  await waitFor(
    async () => {
      const got = (await shownHostnames()).sort();
      return got.length === want.length && got.every((g, i) => g === want[i]);
    },
    { timeoutMs: 10_000, intervalMs: 100, what: `hosts table = ${want.join(', ')}` },
  );
}

async function fillLogin(email: string, password: string): Promise<void> {
  await page.locator('#login-form').waitFor();
  await page.fill('#login-email', email);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
}

describe('web console', () => {
  it('is served publicly next to the API, with an SPA fallback and JSON 404s for the API', async () => {
    const index = await request(stack.url).get('/').expect(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.text).toContain('<script type="module" src="/app.js">');
    await request(stack.url).get('/app.js').expect(200).expect('Content-Type', /javascript/);
    const deep = await request(stack.url).get('/hosts/some-id').set('Accept', 'text/html').expect(200);
    expect(deep.text).toBe(index.text);
    const api404 = await request(stack.url).get('/api/no-such-route').set('Accept', 'text/html,*/*').expect(404);
    expect(api404.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(api404.body.code).toBeDefined();
    const asset404 = await request(stack.url).get('/missing.js').expect(404);
    expect(asset404.headers['content-type']).toMatch(/problem\+json/);
    await request(stack.url).get('/api/docs').expect(200);
    await request(stack.url).get('/api/openapi.json').expect(200);
  });

  it('shows the problem detail for a wrong password', async () => {
    await page.goto(stack.url);
    await fillLogin(ADMIN_EMAIL, 'not-the-password');
    const error = page.locator('#login-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('Invalid email or password');
    expect(await page.locator('#app-header').isHidden()).toBe(true);
  });

  it('signs in, lists, searches, opens a host, issues an SSH command, reads the audit trail and signs out', async () => {
    await page.goto(stack.url);
    await fillLogin(ADMIN_EMAIL, ADMIN_PASSWORD);

    // header with the user from /api/auth/me
    await page.locator('#app-header').waitFor({ state: 'visible' });
    expect(await page.textContent('#user-email')).toBe(ADMIN_EMAIL);
    expect(await page.textContent('#user-role')).toBe('admin');
    expect(new URL(page.url()).pathname).toBe('/hosts');

    // the three hosts, then a search that narrows to one
    await waitForHosts(hostnames);
    await page.fill('#host-search', 'cache');
    await page.press('#host-search', 'Enter');
    await waitForHosts([hostnames[2]]);
    expect(new URL(page.url()).searchParams.get('q')).toBe('cache');
    await page.fill('#host-search', '');
    await page.selectOption('#host-environment', 'prod');
    await waitForHosts([hostnames[0]]);
    expect(await shownHostnames()).toEqual([hostnames[0]]);

    // host detail: fields, history, governed access with a reason (prod + critical requires one)
    await page.click(`text=${hostnames[0]}`);
    await page.locator('#host-title').waitFor();
    expect(await page.textContent('#host-title')).toBe(hostnames[0]);
    expect(await page.textContent('#host-details')).toContain('192.0.2.11');
    expect(await page.locator('#host-history li').first().textContent()).toContain('created');
    await page.click('#access-button');
    await page.fill('#access-reason', 'OPS-42 console e2e');
    expect(await page.inputValue('#access-user')).toBe(''); // the host has no ssh_user: the operator names one
    await page.fill('#access-user', 'deploy');
    await page.click('#access-submit');
    await page.locator('#access-command, #access-error').first().waitFor();
    expect(await page.locator('#access-error').count() ? await page.textContent('#access-error') : null).toBeNull();
    expect(await page.textContent('#access-command')).toMatch(/^ssh -p 22 '?deploy'?@'?192\.0\.2\.11'?$/);
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // the audit trail, once the recorder has the access event (events are asynchronous)
    await waitFor(async () => {
      const res = await request(stack.url).get('/api/audit?action=inventory.host.access_issued').set(bearer(admin));
      return res.status === 200 && res.body.items.length > 0;
    }, { timeoutMs: 20_000, what: 'access event in the audit trail' });
    await page.click('#nav-audit');
    await page.locator('#audit-table tbody tr').first().waitFor();
    const rows = await page.locator('#audit-table tbody tr').allTextContents();
    expect(rows.some((r) => r.includes('inventory.host.access_issued') && r.includes(ADMIN_EMAIL))).toBe(true);
    expect(rows.some((r) => r.includes('auth.login.succeeded') && r.includes(ADMIN_EMAIL) && r.includes('127.0.0.1'))).toBe(true);

    // a reload on a deep link keeps the session (sessionStorage) and the page
    await page.reload();
    await page.locator('#audit-table tbody tr').first().waitFor();

    // logout ends the session server-side and lands on the login form
    await page.click('#logout-button');
    await page.locator('#login-form').waitFor();
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await page.evaluate('sessionStorage.length')).toBe(0); // a string: the test is not compiled with the DOM lib

    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('pages through hosts and audit records with keyset "next" and "first" buttons', async () => {
    const paged = Array.from({ length: 55 }, (_, i) => `paged-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < paged.length; i += 11) {
      await Promise.all(paged.slice(i, i + 11).map((hostname, j) => createHost(stack, admin, { hostname, ip: `198.51.100.${i + j + 1}` })));
    }
    await page.goto(stack.url);
    await fillLogin(ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.locator('#app-header').waitFor({ state: 'visible' });
    await page.fill('#host-search', 'paged-');
    await page.press('#host-search', 'Enter');
    await waitFor(async () => (await shownHostnames()).length === 50 && (await shownHostnames()).every((n) => n.startsWith('paged-')), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'a first page of 50 paged hosts',
    });
    const firstPage = await shownHostnames();
    expect(await page.isVisible('#hosts-next')).toBe(true);
    expect(await page.isHidden('#hosts-first')).toBe(true);

    await page.click('#hosts-next');
    await waitFor(async () => (await shownHostnames()).length === 5, { timeoutMs: 10_000, intervalMs: 100, what: 'the last 5 paged hosts' });
    expect([...firstPage, ...(await shownHostnames())].sort()).toEqual(paged); // no gap, no repeat
    expect(await page.isHidden('#hosts-next')).toBe(true);
    expect(await page.isVisible('#hosts-first')).toBe(true);

    await page.click('#hosts-first');
    await waitFor(async () => (await shownHostnames()).length === 50, { timeoutMs: 10_000, intervalMs: 100, what: 'the first page again' });
    expect(await shownHostnames()).toEqual(firstPage);
    expect(await page.isHidden('#hosts-first')).toBe(true);

    // the audit trail has more than a page by now (55 host creations alone): older records, then newest again
    // events reach the recorder asynchronously: wait until well over a page is recorded before opening the page
    await waitFor(async () => ((await request(stack.url).get('/api/audit?limit=100').set(bearer(admin))).body.items?.length ?? 0) >= 60, {
      timeoutMs: 20_000,
      what: 'more than a page of audit records',
    });
    const seqs = async () => (await page.locator('#audit-table tbody tr').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq')))));
    await page.click('#nav-audit');
    await waitFor(async () => (await seqs()).length === 50, { timeoutMs: 10_000, intervalMs: 100, what: 'a first audit page of 50' });
    const newest = await seqs();
    expect(await page.isHidden('#audit-first')).toBe(true);
    await page.click('#audit-next');
    await waitFor(async () => (await seqs())[0] < Math.min(...newest), { timeoutMs: 10_000, intervalMs: 100, what: 'older audit records' });
    const older = await seqs();
    expect(older).toEqual([...older].sort((a, b) => b - a)); // newest first within the page too
    expect(older[0]).toBe(Math.min(...newest) - 1); // keyset: the page continues exactly where the first ended
    expect(await page.isVisible('#audit-first')).toBe(true);
    await page.click('#audit-first');
    await waitFor(async () => (await seqs())[0] >= newest[0], { timeoutMs: 10_000, intervalMs: 100, what: 'the newest audit records again' });
    expect(await page.isHidden('#audit-first')).toBe(true);

    expect(pageErrors).toEqual([]);
  }, 90_000);
});
