import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RolePermissions } from '@opsdesk/contracts';
import { authenticator } from 'otplib';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import request from 'supertest';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  createUser,
  login,
  startStack,
  waitFor,
  type Stack,
} from './support/stack';
import { bearer, createHost } from './support/inventory';
import { startPrometheusRig, waitForSeries, type PrometheusRig } from './support/prometheus';

/**
 * The web console (web/, built to web/dist by `npm run build`) in a real browser: Debian's Chromium driven
 * by playwright-core (browsers are never downloaded) against the real system — auth, inventory, audit and
 * artifacts behind one gateway that serves the build at `/`. Screenshots of every page at desktop and
 * narrow widths go to e2e/.artifacts/screenshots (git-ignored); the time to the first host-list render goes
 * to e2e/.artifacts/console-metrics.json.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const WEB_DIST = join(__dirname, '..', 'web', 'dist');
const ARTIFACTS_DIR = join(__dirname, '.artifacts');
const SHOTS = join(ARTIFACTS_DIR, 'screenshots');
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
const DESKTOP = { width: 1366, height: 860 };
const NARROW = { width: 390, height: 844 };

let stack: Stack;
let rig: PrometheusRig;
let admin: string;
let storage: string;
let profileDir: string;
let context: BrowserContext;
let page: Page;
const pageErrors: string[] = [];
const viewerUser = { email: 'viewer@console.test', password: 'Vi3wer-Passw0rd!' };
const auditorUser = { email: 'auditor@console.test', password: 'Aud1tor-Passw0rd!' };
const mfaUser = { email: 'operator@console.test', password: 'Op3rator-Passw0rd!' };
const expiringUser = { email: 'expiring@console.test', password: 'Exp1ring-Passw0rd!' };

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `console e2e needs Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH); browsers are never downloaded`,
    );
  if (!existsSync(join(WEB_DIST, 'index.html')))
    throw new Error(`console e2e needs the built console in ${WEB_DIST}: run \`npm run build\``);
  mkdirSync(SHOTS, { recursive: true });
  storage = mkdtempSync(join(tmpdir(), 'opsdesk-console-artifacts-'));
  // a real Prometheus scraping a real node exporter on 127.0.0.1, for the telemetry tab
  rig = await startPrometheusRig();
  stack = await startStack('consolee2e', {
    services: ['auth', 'inventory', 'audit', 'artifacts'],
    // every flow signs in through the browser from 127.0.0.1: the per-IP sign-in limit (5/min) would refuse the later ones
    env: {
      RATE_LIMIT_API_PER_MINUTE: '100000',
      RATE_LIMIT_AUTH_PER_MINUTE: '1000',
      RATE_LIMIT_AUTH_BURST: '1000',
      ARTIFACT_STORAGE_PATH: storage,
      MAX_ARTIFACT_SIZE_MB: '64',
      WEB_DIST_PATH: WEB_DIST,
    },
  });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  await createUser(stack.url, admin, viewerUser.email, 'viewer', viewerUser.password);
  await createUser(stack.url, admin, auditorUser.email, 'auditor', auditorUser.password);
  await createUser(stack.url, admin, mfaUser.email, 'operator', mfaUser.password);
  await createUser(stack.url, admin, expiringUser.email, 'auditor', expiringUser.password);
  const seed: Array<Record<string, unknown>> = [
    {
      hostname: 'web-01',
      ip: '192.0.2.11',
      environment: 'prod',
      criticality: 'critical',
      owner: 'alice@example.com',
      team: 'web',
      tags: ['edge', 'nginx'],
      ssh_user: 'deploy',
    },
    {
      hostname: 'web-02',
      ip: '192.0.2.12',
      environment: 'prod',
      criticality: 'high',
      owner: 'alice@example.com',
      team: 'web',
      tags: ['edge', 'nginx'],
    },
    {
      hostname: 'db-01',
      ip: '192.0.2.21',
      environment: 'stage',
      criticality: 'high',
      owner: 'bob@example.com',
      team: 'data',
      tags: ['postgres'],
    },
    {
      hostname: 'cache-01',
      ip: '192.0.2.31',
      environment: 'dev',
      criticality: 'low',
      team: 'web',
      tags: ['redis'],
    },
    {
      hostname: 'win-build-01',
      ip: '192.0.2.41',
      environment: 'dev',
      os: 'windows',
      criticality: 'medium',
      team: 'ci',
      tags: ['build'],
    },
    {
      hostname: 'mac-ci-01',
      ip: '192.0.2.51',
      environment: 'stage',
      os: 'macos',
      criticality: 'low',
      team: 'ci',
      tags: ['build', 'ios'],
    },
    {
      hostname: 'local-01',
      ip: '127.0.0.1',
      environment: 'dev',
      criticality: 'low',
      team: 'platform',
      tags: ['monitored'],
    },
  ];
  for (const h of seed) await createHost(stack, admin, h);

  profileDir = mkdtempSync(join(tmpdir(), 'opsdesk-console-'));
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: DESKTOP,
    timeout: 30_000,
    acceptDownloads: true,
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(15_000);
  // any uncaught script error or CSP violation fails the suite (checked at the end of each flow)
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/status of (40[0-9]|41[0-9]|429)/.test(msg.text()))
      pageErrors.push(msg.text());
  });
}, 180_000);

afterAll(async () => {
  await context?.close().catch(() => undefined);
  if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  await stack?.stop();
  await rig?.stop();
  if (storage) rmSync(storage, { recursive: true, force: true });
}, 120_000);

async function shot(name: string): Promise<void> {
  await page.waitForLoadState('networkidle').catch(() => undefined);
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function signIn(email: string, password: string): Promise<void> {
  // a clean tab: no session left over from an earlier flow (the refresh token lives in sessionStorage)
  // (cleared on a same-origin page that is not the console, so no refresh in flight can write it back)
  await page.goto(`${stack.url}/healthz`);
  await page.evaluate('sessionStorage.clear()');
  await page.goto(`${stack.url}/login`);
  await page.getByTestId('login-email').fill(email);
  await page.getByTestId('login-password').fill(password);
  await page.getByTestId('login-submit').click();
}

async function signOut(): Promise<void> {
  await page.getByTestId('user-menu').click();
  await page.getByTestId('sign-out').click();
  await page.getByTestId('login-form').waitFor();
}

const hostRows = () => page.locator('[data-testid=hosts-table] tbody tr');
async function shownHostnames(): Promise<string[]> {
  return hostRows().evaluateAll((rows) => rows.map((r) => r.getAttribute('data-hostname') ?? ''));
}

async function selectOption(testId: string, option: string): Promise<void> {
  await page.getByTestId(testId).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

async function hostIdOf(hostname: string): Promise<string> {
  const res = await request(stack.url).get('/api/hosts?limit=100').set(bearer(admin)).expect(200);
  const host = (res.body.items as Array<{ id: string; hostname: string }>).find(
    (h) => h.hostname === hostname,
  );
  if (!host) throw new Error(`no host ${hostname}`);
  return host.id;
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('web console', () => {
  it('is served as a built SPA: hashed assets cached for good, index revalidated, no inline scripts, SPA fallback, JSON 404s for the API', async () => {
    const index = await request(stack.url).get('/').expect(200);
    expect(index.headers['content-type']).toMatch(/text\/html/);
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    const scripts = [...index.text.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scripts) {
      expect(attrs).toMatch(/src="\/assets\/[^"]+-[A-Za-z0-9_-]{8,}\.js"/); // content-hashed file
      expect(body.trim()).toBe(''); // nothing inline: the CSP allows none
    }
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(index.text)![1];
    const js = await request(stack.url)
      .get(asset)
      .expect(200)
      .expect('Content-Type', /javascript/);
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const deep = await request(stack.url).get('/hosts/some-id').set('Accept', 'text/html').expect(200);
    expect(deep.text).toBe(index.text);
    const api404 = await request(stack.url)
      .get('/api/no-such-route')
      .set('Accept', 'text/html,*/*')
      .expect(404);
    expect(api404.headers['content-type']).toMatch(/application\/problem\+json/);
    const asset404 = await request(stack.url).get('/assets/missing-0123456789.js').expect(404);
    expect(asset404.headers['content-type']).toMatch(/problem\+json/);
  });

  it('/api/auth/me carries the permissions of the role, which the console renders from', async () => {
    const me = await request(stack.url).get('/api/auth/me').set(bearer(admin)).expect(200);
    expect(me.body.permissions).toEqual([...RolePermissions.admin]);
    const viewer = await login(stack.url, viewerUser.email, viewerUser.password);
    const vme = await request(stack.url).get('/api/auth/me').set(bearer(viewer.access)).expect(200);
    expect(vme.body.permissions).toEqual([...RolePermissions.viewer]);
  });

  it('shows the problem detail for a wrong password', async () => {
    await signIn(ADMIN_EMAIL, 'not-the-password');
    const error = page.getByTestId('login-error');
    await error.waitFor();
    expect(await error.textContent()).toContain('Invalid email or password');
    await shot('sign-in-error-desktop');
  });

  it('admin: create, search, edit with history diff, SSH command, CSV import, 20 MB artifact upload/download/verify, audit', async () => {
    await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();
    expect(await page.getByTestId('user-email').textContent()).toBe(ADMIN_EMAIL);

    // time to first render of the host list: a fresh navigation (the session is refreshed from the tab's
    // refresh token) until the first row is on screen
    const t0 = Date.now();
    await page.goto(`${stack.url}/hosts`);
    await hostRows().first().waitFor();
    const firstRenderMs = Date.now() - t0;
    const nav = (await page.evaluate(
      "JSON.stringify(performance.getEntriesByType('navigation')[0])",
    )) as string;
    writeFileSync(
      join(ARTIFACTS_DIR, 'console-metrics.json'),
      JSON.stringify({ host_list_first_render_ms: firstRenderMs, navigation: JSON.parse(nav) }, null, 2),
    );
    await shot('hosts-desktop');

    // create a host through the form
    await page.getByTestId('hosts-new').click();
    await page.getByTestId('host-hostname').fill('console-new-01');
    await page.getByTestId('host-ip').fill('not-an-ip');
    await page.getByTestId('host-submit').click();
    // the server's field error appears next to the field
    await page.getByText('must be an IPv4 or IPv6 address').waitFor();
    await shot('host-create-field-error-desktop');
    await page.getByTestId('host-ip').fill('198.51.100.77');
    await selectOption('host-environment', 'prod');
    await page.getByTestId('host-team').fill('payments');
    await page.getByTestId('host-submit').click();
    await page.getByTestId('host-title').filter({ hasText: 'console-new-01' }).waitFor();
    // a moment when the host exists with its first version (the edit below comes seconds later)
    const firstVersionAt = new Date(Math.ceil((Date.now() + 1) / 1000) * 1000);

    // find it by search-as-you-type (no Enter), the URL keeps the query
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('host-search').fill('console-new');
    await waitFor(async () => JSON.stringify(await shownHostnames()) === JSON.stringify(['console-new-01']), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'search narrows to the new host',
    });
    expect(new URL(page.url()).searchParams.get('q')).toBe('console-new');
    // a filter from the URL: environment=prod
    await page.goto(`${stack.url}/hosts?environment=prod`);
    await waitFor(
      async () => (await shownHostnames()).sort().join() === ['console-new-01', 'web-01', 'web-02'].join(),
      { timeoutMs: 10_000, intervalMs: 100, what: 'prod hosts' },
    );

    // edit it and see the diff in the history
    await page.locator('[data-hostname="console-new-01"] a').click();
    await page.getByTestId('host-edit').click();
    await page.getByTestId('host-team').fill('checkout');
    await page.getByTestId('host-submit').click();
    await page.getByText('is now version 2').waitFor();
    await page.getByTestId('tab-history').click();
    const diff = page.getByTestId('history-diff').first();
    await diff.waitFor();
    expect(await diff.textContent()).toMatch(/team.*payments.*checkout/);
    // "as of" the first version: the team before the edit (the picker takes local time, like the browser)
    const pad = (n: number) => String(n).padStart(2, '0');
    const d = firstVersionAt;
    await page
      .getByTestId('as-of-input')
      .fill(
        `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`,
      );
    await page.getByTestId('as-of-show').click();
    await page.getByTestId('as-of-result').getByText('Version 1 at').waitFor();
    expect(await page.getByTestId('as-of-result').textContent()).toContain('payments');
    await shot('host-history-desktop');

    // SSH command: prod host, so a reason is required
    await page.getByTestId('access-button').click();
    await page.getByTestId('access-reason').fill('OPS-42 console e2e');
    await page.getByTestId('access-user').fill('deploy');
    await page.getByTestId('access-submit').click();
    const command = page.getByTestId('access-command');
    await command.waitFor();
    expect((await command.textContent())?.trim()).toMatch(/^ssh -p 22 '?deploy'?@'?198\.51\.100\.77'?$/);
    await shot('host-ssh-command-desktop');
    await page.getByRole('button', { name: 'Done' }).click();

    // CSV import: a dry run first (nothing written), then the commit
    const csv = [
      'hostname,ip,environment,criticality,team,tags',
      'imp-01,203.0.113.1,dev,low,import,"a,b"',
      'imp-02,203.0.113.2,stage,high,import,c',
      'imp-bad,999.1.1.1,dev,low,import,',
    ].join('\n');
    await page.getByTestId('nav-hosts').click();
    await page.getByTestId('hosts-import').click();
    await page
      .locator('[data-testid=import-modal] input[type=file]')
      .setInputFiles({ name: 'hosts.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.getByTestId('import-preview-button').click();
    const preview = page.getByTestId('import-preview');
    await preview.waitFor();
    expect(await page.getByTestId('import-error-count').textContent()).toContain('1 with errors');
    const previewRows = await page.locator('[data-testid=import-rows] tbody tr').allTextContents();
    expect(previewRows.some((r) => r.includes('imp-01') && r.includes('created'))).toBe(true);
    expect(previewRows.some((r) => r.includes('imp-bad') && r.includes('error') && r.includes('ip'))).toBe(
      true,
    );
    await shot('hosts-import-preview-desktop');
    // nothing was written by the dry run
    expect((await request(stack.url).get('/api/hosts?q=imp-').set(bearer(admin))).body.items).toHaveLength(0);
    await page.getByTestId('import-commit-button').click();
    await page.getByTestId('import-result').waitFor();
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('host-search').fill('imp-');
    await waitFor(async () => (await shownHostnames()).sort().join() === 'imp-01,imp-02', {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'imported rows in the list',
    });
    // delete one, with the confirmation dialog
    await page.locator('[data-hostname="imp-02"] a').click();
    await page.getByTestId('host-delete').click();
    await page.getByTestId('confirm-button').click();
    await page.getByText('Host deleted').waitFor();
    await page.getByTestId('host-search').fill('imp-');
    await waitFor(async () => (await shownHostnames()).join() === 'imp-01', {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'imp-02 gone',
    });

    // a 20 MB artifact: drop it, watch the progress bar reach 100 %, compare the sha256
    const blob = randomBytes(20 * 1024 * 1024);
    const digest = sha256(blob);
    // from a file: handing 20 MB to the browser through the protocol as a buffer is slow on a busy machine
    const bigFile = join(profileDir, `big-dump-${process.pid}.bin`); // removed with the profile in afterAll
    writeFileSync(bigFile, blob);
    await page.goto(`${stack.url}/hosts?q=console-new`);
    await page.locator('[data-hostname="console-new-01"] a').click();
    await page.getByTestId('tab-artifacts').click();
    await page.locator('[data-testid=artifact-dropzone] input[type=file]').setInputFiles(bigFile);
    await page.getByTestId('artifact-file-name').filter({ hasText: 'big-dump-' }).waitFor();
    await selectOption('artifact-kind', 'crash dump');
    const seen: number[] = [];
    await page.getByTestId('artifact-upload-button').click();
    await waitFor(
      async () => {
        const v = await page
          .getByTestId('artifact-progress')
          .getAttribute('aria-valuenow')
          .catch(() => null);
        if (v !== null) seen.push(Number(v));
        return (await page.getByTestId('artifact-notice').count()) > 0;
      },
      { timeoutMs: 60_000, intervalMs: 25, what: 'the upload to finish' },
    );
    rmSync(bigFile, { force: true });
    expect(await page.getByTestId('artifact-notice').textContent()).toContain(
      `Uploaded big-dump-${process.pid}.bin`,
    );
    expect(await page.getByTestId('artifact-progress-text').textContent()).toBe('20 MB of 20 MB sent (100%)');
    expect(Math.max(...seen)).toBe(100);
    const row = page.locator(`[data-artifact="big-dump-${process.pid}.bin"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-sha256')).toBe(digest);
    await shot('host-artifacts-desktop');

    // download it: the same bytes
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      row.getByTestId('artifact-download').click(),
    ]);
    const saved = await download.path();
    expect(sha256(readFileSync(saved))).toBe(digest);
    // verify it
    await row.getByTestId('artifact-menu').click();
    await page.getByTestId('artifact-verify').click();
    await page.getByText('Verified: the stored file matches its SHA-256').waitFor();
    await row.getByTestId('verify-ok').waitFor();

    // all of it in the audit trail, found with the page's filters (events arrive asynchronously)
    const expected = [
      'inventory.host.created',
      'inventory.host.updated',
      'inventory.host.access_issued',
      'inventory.hosts.imported',
      'artifacts.artifact.uploaded',
      'artifacts.artifact.downloaded',
      'artifacts.artifact.verified',
    ];
    await waitFor(
      async () => {
        const res = await request(stack.url).get('/api/audit?limit=100').set(bearer(admin));
        const types = new Set<string>((res.body.items ?? []).map((r: { type: string }) => r.type));
        return expected.every((t) => types.has(t));
      },
      { timeoutMs: 30_000, what: 'every console action in the audit trail' },
    );
    await page.getByTestId('nav-audit').click();
    await page.locator('[data-testid=audit-table] tbody tr').first().waitFor();
    await shot('audit-desktop');
    const auditTypes = async () =>
      page.locator('[data-testid=audit-table] tbody tr td:nth-child(3)').allTextContents();
    for (const t of expected) expect(await auditTypes()).toContain(t);
    await page.getByTestId('audit-action').fill('artifacts.*');
    await page.getByTestId('audit-action').press('Enter');
    await waitFor(
      async () =>
        (await auditTypes()).length > 0 && (await auditTypes()).every((t) => t.startsWith('artifacts.')),
      { timeoutMs: 10_000, intervalMs: 100, what: 'artifact events only' },
    );
    expect(new URL(page.url()).searchParams.get('action')).toBe('artifacts.*');
    // a record's details: hashes and trace id
    await page.locator('[data-testid=audit-table] tbody tr').first().click();
    await page.getByTestId('audit-details').waitFor();
    expect(await page.getByTestId('audit-hash').textContent()).toMatch(/^[0-9a-f]{64}$/);
    await shot('audit-details-desktop');
    await page.keyboard.press('Escape');
    // chain verification
    await page.getByTestId('audit-verify').click();
    await page.getByTestId('audit-verify-result').waitFor();
    expect(await page.getByTestId('audit-verify-result').textContent()).toContain(
      'The audit chain is intact',
    );

    expect(pageErrors).toEqual([]);
  }, 240_000);

  it('settings: Prometheus configured in the page, then telemetry collected and charted on the host', async () => {
    await waitForSeries(rig.url, `node_load1{instance="${rig.exporterTarget}"}`);
    await page.goto(`${stack.url}/settings`);
    await page.getByTestId('settings-prometheus-url').fill(rig.url);
    await page.getByTestId('settings-instance-template').fill(`{ip}:${rig.exporterPort}`);
    await page.getByTestId('settings-save').click();
    await page.getByText('Integration settings saved').waitFor();
    await page.getByTestId('runtime-info').getByText('configured (settings)').waitFor();
    const hostId = await hostIdOf('local-01');
    await page.goto(`${stack.url}/hosts/${hostId}?tab=telemetry`);
    for (let i = 0; i < 2; i++) {
      await page.getByTestId('metrics-refresh').click();
      await page.getByTestId('metrics-table').locator('tbody tr').nth(i).waitFor();
    }
    expect(await page.getByTestId('metrics-table').locator('tbody tr').first().textContent()).toContain(
      ADMIN_EMAIL,
    ); // who collected
    expect(await page.locator('svg[role=img] circle').count()).toBeGreaterThanOrEqual(4); // points on the charts
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('admin: access templates and Teleport in settings, a host access_template, a teleport host, a user email change', async () => {
    await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();

    // settings: a bad Teleport proxy is refused at its field, then the templates and Teleport are saved
    await page.goto(`${stack.url}/settings`);
    const direct = page.getByTestId('settings-template-direct_ssh');
    expect(await direct.getAttribute('placeholder')).toBe('ssh -p {{port}} {{user}}@{{host}}'); // the default
    await direct.fill('ssh -o StrictHostKeyChecking=accept-new -p {{port}} {{user}}@{{host}}');
    await page.getByTestId('settings-teleport-proxy').fill('proxy;id');
    await page.getByTestId('settings-access-save').click();
    await waitFor(
      async () => (await page.getByTestId('settings-teleport-proxy').getAttribute('aria-invalid')) === 'true',
      {
        timeoutMs: 10_000,
        intervalMs: 100,
        what: 'the proxy field error',
      },
    );
    await page.getByTestId('settings-teleport-proxy').fill('teleport.example.com:443');
    await page.getByTestId('settings-teleport-cluster').fill('main');
    await page.getByTestId('settings-access-save').click();
    await page.getByText('Access settings saved').waitFor();
    await page.getByTestId('runtime-info').getByText('configured', { exact: true }).waitFor(); // Teleport
    await page.evaluate('window.scrollTo(0, 0)'); // a full-page shot of a scrolled page draws the fixed header mid-page
    await shot('settings-access-desktop');
    const saved = await request(stack.url).get('/api/settings/integrations').set(bearer(admin)).expect(200);
    expect(saved.body).toMatchObject({
      access_templates: {
        direct_ssh: 'ssh -o StrictHostKeyChecking=accept-new -p {{port}} {{user}}@{{host}}',
        bastion_ssh: null,
        teleport: null,
      },
      teleport_proxy: 'teleport.example.com:443',
      teleport_cluster: 'main',
    });

    // a host's own access template (admin: settings:write), and the command rendered from it
    await page.goto(`${stack.url}/hosts/${await hostIdOf('cache-01')}`);
    await page.getByTestId('host-edit').click();
    await page.getByTestId('host-access_template').fill('ssh -i /etc/ops/key -p {{port}} {{user}}@{{host}}');
    await page.getByTestId('host-submit').click();
    await page.getByText('is now version 2').waitFor();
    await page.getByTestId('access-button').click();
    await page.getByTestId('access-user').fill('ops');
    await page.getByTestId('access-submit').click();
    await page.getByTestId('access-command').waitFor();
    // placeholder values are single-quoted by the renderer: compare without the quotes
    const unquoted = async () =>
      (await page.getByTestId('access-command').textContent())?.trim().replace(/'/g, '');
    expect(await unquoted()).toBe('ssh -i /etc/ops/key -p 22 ops@192.0.2.31');
    expect(await page.getByTestId('access-template-source').textContent()).toContain("this host's own");
    await page.getByRole('button', { name: 'Done' }).click();

    // a teleport host: shown as teleport, tsh ssh through the proxy and cluster of the settings
    await createHost(stack, admin, {
      hostname: 'tp-01',
      ip: '192.0.2.61',
      environment: 'dev',
      connection_method: 'teleport',
    });
    await page.goto(`${stack.url}/hosts/${await hostIdOf('tp-01')}`);
    expect(await page.locator('[data-field=connection_method]').textContent()).toBe('teleport');
    await page.getByTestId('access-button').click();
    await page.getByTestId('access-user').fill('ops');
    await page.getByTestId('access-submit').click();
    await page.getByTestId('access-command').waitFor();
    expect(await unquoted()).toBe('tsh ssh --proxy=teleport.example.com:443 --cluster=main ops@tp-01');
    expect(await page.getByTestId('access-template-source').textContent()).toContain('built-in');
    await shot('host-teleport-ssh-desktop');
    await page.getByRole('button', { name: 'Done' }).click();

    // a user's email: a taken one is refused at the field (409), then changed
    await createUser(stack.url, admin, 'rename-me@console.test', 'viewer', 'Ren4me-Passw0rd!');
    await page.goto(`${stack.url}/users`);
    await page.getByRole('button', { name: 'Actions for rename-me@console.test' }).click();
    await page.getByTestId('user-change-email').click();
    await page.getByTestId('change-email-input').fill(viewerUser.email);
    await page.getByTestId('change-email-submit').click();
    await page.getByText('is already taken').waitFor();
    await shot('users-email-dialog-desktop');
    await page.getByTestId('change-email-input').fill('renamed@console.test');
    await page.getByTestId('change-email-submit').click();
    await page.locator('[data-email="renamed@console.test"]').waitFor();
    expect(await page.locator('[data-email="rename-me@console.test"]').count()).toBe(0);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('every page at desktop and narrow widths (screenshots), and the theme toggles to dark', async () => {
    const hostId = await hostIdOf('web-01');
    const localId = await hostIdOf('local-01');
    const pages: Array<[string, string, string]> = [
      ['dashboard', '/', 'Dashboard'],
      ['hosts', '/hosts', 'Hosts'],
      ['host-detail', `/hosts/${hostId}`, 'web-01'],
      ['host-telemetry', `/hosts/${localId}?tab=telemetry`, 'local-01'],
      ['artifacts', '/artifacts', 'Artifacts'],
      ['audit', '/audit', 'Audit trail'],
      ['users', '/users', 'Users'],
      ['profile', '/profile', 'Profile'],
      ['settings', '/settings', 'Settings'],
    ];
    for (const [viewport, size] of [
      ['desktop', DESKTOP],
      ['narrow', NARROW],
    ] as const) {
      await page.setViewportSize(size);
      for (const [name, path, title] of pages) {
        await page.goto(`${stack.url}${path}`);
        await page
          .locator('[data-testid=page-title], [data-testid=host-title]')
          .filter({ hasText: title })
          .first()
          .waitFor();
        await shot(`${name}-${viewport}`);
      }
    }
    await page.setViewportSize(DESKTOP);
    await page.goto(`${stack.url}/hosts`);
    await hostRows().first().waitFor();
    await page.getByTestId('color-scheme-toggle').click();
    await waitFor(
      async () =>
        (await page.evaluate("document.documentElement.getAttribute('data-mantine-color-scheme')")) ===
        'dark',
      { timeoutMs: 5000, what: 'dark scheme' },
    );
    await shot('hosts-dark-desktop');
    await page.goto(`${stack.url}/`);
    await page.getByTestId('stat-total').waitFor();
    await shot('dashboard-dark-desktop');
    await page.getByTestId('color-scheme-toggle').click();
    await signOut();
    await page.setViewportSize(NARROW);
    await shot('sign-in-narrow');
    await page.setViewportSize(DESKTOP);
    await shot('sign-in-desktop');
    expect(pageErrors).toEqual([]);
  }, 180_000);

  it('a session that ends returns to the same page after signing in again', async () => {
    await signIn(expiringUser.email, expiringUser.password);
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();
    await page.goto(`${stack.url}/audit?action=auth.*`);
    await page.locator('[data-testid=audit-table] tbody tr').first().waitFor();
    // an admin deactivates the user: their tokens stop working at once and the refresh is refused
    const users = await request(stack.url)
      .get(`/api/users?q=${encodeURIComponent(expiringUser.email)}`)
      .set(bearer(admin))
      .expect(200);
    const userId = users.body.items[0].id as string;
    await request(stack.url)
      .patch(`/api/users/${userId}`)
      .set(bearer(admin))
      .send({ is_active: false })
      .expect(200);
    // the console's next request is refused and so is the silent refresh: the sign-in page says so…
    await page.getByTestId('audit-q').fill('login');
    await page.getByTestId('session-expired').waitFor({ timeout: 20_000 });
    await shot('session-expired-desktop');
    await request(stack.url)
      .patch(`/api/users/${userId}`)
      .set(bearer(admin))
      .send({ is_active: true })
      .expect(200);
    // …and signing in again returns to the same page, filters included
    await page.getByTestId('login-email').fill(expiringUser.email);
    await page.getByTestId('login-password').fill(expiringUser.password);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('page-title').filter({ hasText: 'Audit trail' }).waitFor();
    expect(new URL(page.url()).searchParams.get('action')).toBe('auth.*');
    await signOut();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('enrols MFA with a QR code, shows recovery codes, creates an API token that works with fetch, and signs in again with a TOTP code', async () => {
    await signIn(mfaUser.email, mfaUser.password);
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();
    await page.goto(`${stack.url}/profile`);
    await page.getByTestId('mfa-start').click();
    await page.getByTestId('mfa-setup').waitFor();
    await page.getByAltText('QR code for your authenticator app').waitFor();
    const secret = (await page.getByTestId('mfa-secret').textContent())!.trim();
    await shot('profile-mfa-setup-desktop');
    // the enrolment code's own time step, fixed here: the sign-in below must use a later one (each step is accepted
    // once), and a code generated a moment later than a separately taken timestamp can fall into the next step
    const enabledAt = Date.now();
    await page.locator('[data-testid=mfa-setup] input[autocomplete="one-time-code"]').first().click();
    await page.keyboard.type(authenticator.clone({ epoch: enabledAt }).generate(secret));
    await page.getByTestId('mfa-enable').click();
    await page.getByTestId('recovery-codes').waitFor();
    expect(await page.locator('[data-testid=recovery-codes] code').count()).toBe(10);
    await shot('profile-recovery-codes-desktop');
    await page.getByTestId('recovery-done').click();
    expect(await page.getByTestId('mfa-status').textContent()).toBe('on');

    // a personal API token, shown once, used with fetch from the page
    await page.getByTestId('token-name').fill('console-e2e');
    await page.getByTestId('token-create').click();
    const token = (await page.getByTestId('token-value').textContent())!.trim();
    expect(token).toMatch(/^odp_/);
    await shot('profile-token-desktop');
    const status = await page.evaluate(
      async (t) => (await fetch('/api/hosts?limit=1', { headers: { Authorization: `Bearer ${t}` } })).status,
      token,
    );
    expect(status).toBe(200);
    // created with the form's default scope, read: a write with it is refused
    const write = await page.evaluate(
      async (t) => (await fetch('/api/hosts', { method: 'POST', headers: { Authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: '{"hostname":"by-token","ip":"192.0.2.250","environment":"dev"}' })).status,
      token,
    );
    expect(write).toBe(403);

    // sign out, sign in again: the TOTP step (a code of a later time step: each step is accepted once)
    await signOut();
    await signIn(mfaUser.email, mfaUser.password);
    await page.locator('input[autocomplete="one-time-code"]').first().waitFor();
    await shot('sign-in-mfa-desktop');
    const step = Math.floor(enabledAt / 30_000) + 1;
    const code = authenticator.clone({ epoch: Math.max(Date.now(), step * 30_000) }).generate(secret);
    await page.locator('input[autocomplete="one-time-code"]').first().click();
    await page.keyboard.type(code);
    await page.getByTestId('login-submit').click();
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();
    await signOut();
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('a viewer sees no write buttons and a direct write is refused', async () => {
    await signIn(viewerUser.email, viewerUser.password);
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();
    await hostRows().first().waitFor();
    for (const id of ['hosts-new', 'hosts-import']) expect(await page.getByTestId(id).count()).toBe(0);
    expect(await page.getByTestId('nav-audit').count()).toBe(0);
    expect(await page.getByTestId('nav-users').count()).toBe(0);
    await page.locator('[data-hostname="web-01"] a').click();
    await page.getByTestId('host-title').waitFor();
    for (const id of ['host-edit', 'host-delete', 'access-button'])
      expect(await page.getByTestId(id).count()).toBe(0);
    await shot('host-detail-viewer-desktop');
    // a deep link to an admin page explains instead of failing
    await page.goto(`${stack.url}/users`);
    await page.getByText('Not available for your role').waitFor();
    // the server enforces: the viewer's own token cannot write
    const viewer = await login(stack.url, viewerUser.email, viewerUser.password);
    const res = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(viewer.access))
      .send({ hostname: 'nope-01', ip: '192.0.2.99', environment: 'dev' });
    expect(res.status).toBe(403);
    await signOut();
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('an auditor can export the audit trail', async () => {
    await signIn(auditorUser.email, auditorUser.password);
    await page.getByTestId('page-title').filter({ hasText: 'Hosts' }).waitFor();
    await page.getByTestId('nav-audit').click();
    await page.locator('[data-testid=audit-table] tbody tr').first().waitFor();
    await page.getByTestId('audit-export').click();
    const [csv] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('audit-export-csv').click(),
    ]);
    const text = readFileSync(await csv.path(), 'utf8');
    expect(text.split('\n')[0]).toMatch(/seq/);
    expect(text).toContain('inventory.host.created');
    await page.getByTestId('audit-export').click();
    const [jsonl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByTestId('audit-export-jsonl').click(),
    ]);
    const lines = readFileSync(await jsonl.path(), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { type?: string; hash?: string });
    expect(
      lines.some((l) => l.type === 'inventory.host.created' && /^[0-9a-f]{64}$/.test(l.hash ?? '')),
    ).toBe(true);
    expect(await page.getByTestId('hosts-new').count()).toBe(0);
    await signOut();
    expect(pageErrors).toEqual([]);
  }, 60_000);
});
