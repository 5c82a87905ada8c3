import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import { authenticator } from 'otplib';
import { chromium } from 'playwright-core';
import { ADMIN_EMAIL, ADMIN_PASSWORD, randomIp, startStack, type Stack } from './support/stack';
import { ContractChecker, committedDocument, isJson, operations } from './support/openapi';

/**
 * The API as a contract, against the real system (auth, inventory, audit, artifacts and the gateway):
 * the served OpenAPI document is the committed docs/openapi.json, is valid, is complete for every
 * operation, and every operation answers — at least once, through the gateway — with a status, media type,
 * headers and body the document describes.
 */

let stack: Stack;
let storage: string;
let served: Record<string, unknown>;
let checker: ContractChecker;

beforeAll(async () => {
  storage = mkdtempSync(join(tmpdir(), 'opsdesk-openapi-e2e-'));
  stack = await startStack('openapie2e', {
    services: ['auth', 'inventory', 'audit', 'artifacts'],
    env: { RATE_LIMIT_API_PER_MINUTE: '100000', MAX_ARTIFACT_SIZE_MB: '1', ARTIFACT_STORAGE_PATH: storage },
  });
  const res = await fetch(`${stack.url}/api/openapi.json`);
  expect(res.status).toBe(200);
  served = (await res.json()) as Record<string, unknown>;
  checker = await ContractChecker.create(served);
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

describe('the document', () => {
  it('is the committed docs/openapi.json (run `npm run openapi` after changing the API)', () => {
    expect(served).toEqual(committedDocument());
  });

  it('passes a standard OpenAPI validator', async () => {
    await expect(SwaggerParser.validate(structuredClone(served) as never)).resolves.toBeDefined();
  });

  it('describes every operation completely: id, tag, security, success schema, errors, request schema', async () => {
    const doc = (await SwaggerParser.dereference(structuredClone(served) as never)) as unknown as Record<string, unknown>;
    const gaps: string[] = [];
    const ids = new Set<string>();
    for (const { path, method, op } of operations(doc)) {
      const at = `${method.toUpperCase()} ${path}`;
      if (op['x-missing-contract']) gaps.push(`${at}: no contract in services/gateway/src/common/openapi-operations.ts`);
      const id = String(op.operationId ?? '');
      if (!/^[a-z]+\.[a-z_]+$/.test(id)) gaps.push(`${at}: operationId '${id}' is not <area>.<verb>`);
      if (ids.has(id)) gaps.push(`${at}: operationId ${id} used twice`);
      ids.add(id);
      if (!Array.isArray(op.tags) || op.tags.length !== 1) gaps.push(`${at}: needs one tag`);
      if (!Array.isArray(op.security)) gaps.push(`${at}: security not stated`);
      const responses = op.responses as Record<string, { content?: Record<string, { schema?: unknown }>; headers?: Record<string, unknown> }>;
      const success = Object.entries(responses).filter(([s]) => s.startsWith('2'));
      if (!success.length) gaps.push(`${at}: no 2xx response`);
      for (const [status, r] of success) {
        if (status === '204') continue;
        const media = Object.values(r.content ?? {});
        if (!media.length || media.some((m) => !m.schema)) gaps.push(`${at}: ${status} has no body schema`);
      }
      const errors = Object.keys(responses).filter((s) => /^[45]/.test(s));
      if (!errors.length) gaps.push(`${at}: no error responses`);
      for (const s of ['429', '503']) if (!responses[s]) gaps.push(`${at}: ${s} not documented`);
      if (responses['429'] && !responses['429'].headers?.['Retry-After']) gaps.push(`${at}: 429 without Retry-After`);
      const secured = (op.security as unknown[]).length > 0;
      if (secured && (!responses['401'] || !responses['403'])) gaps.push(`${at}: secured but 401/403 not documented`);
      for (const [s, r] of Object.entries(responses)) {
        if (/^4|^503/.test(s) && !(path === '/readyz' && s === '503') && !r.content?.['application/problem+json']) gaps.push(`${at}: ${s} is not a problem document`);
      }
      const params = (op.parameters ?? []) as Array<{ in: string; schema?: unknown }>;
      if (params.some((p) => !p.schema)) gaps.push(`${at}: a parameter without schema`);
      if (params.some((p) => p.in === 'path') && !responses['404']) gaps.push(`${at}: takes an id but 404 not documented`);
      const body = op.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined;
      if (body) {
        const media = Object.values(body.content ?? {});
        if (!media.length || media.some((m) => !m.schema)) gaps.push(`${at}: request body without schema`);
        if (!responses['400']) gaps.push(`${at}: accepts a body but 400 not documented`);
      }
      // a route that reads a body must say so: the gateway accepts bodies on POST/PUT/PATCH
      if (['put', 'patch'].includes(method) && !body) gaps.push(`${at}: ${method} without a request body`);
    }
    expect(gaps).toEqual([]);
    expect(ids.size).toBeGreaterThanOrEqual(50);
    const components = (served.components as { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> });
    expect(Object.keys(components.schemas)).toEqual(expect.arrayContaining(['Host', 'HostRevision', 'Artifact', 'AuditRecord', 'User', 'ApiToken', 'Problem', 'HostPage']));
    expect(Object.keys(components.securitySchemes).sort()).toEqual(['api_token', 'bearer_jwt']);
  });

  it('has examples that match their own schemas', () => {
    expect(checker.examplesThatDoNotMatch()).toEqual([]);
  });

  it('Redoc is served beside Swagger UI with no inline script, under the same CSP', async () => {
    const page = await fetch(`${stack.url}/api/redoc`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const scripts = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.length).toBe(2);
    for (const [, attrs, inline] of scripts) {
      expect(attrs).toMatch(/src="\/api\/redoc\//);
      expect(inline.trim()).toBe('');
    }
    const bundle = await fetch(`${stack.url}/api/redoc/redoc.standalone.js`);
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await bundle.arrayBuffer()).byteLength).toBeGreaterThan(100_000);
    const init = await (await fetch(`${stack.url}/api/redoc/redoc-init.js`)).text();
    expect(init).toContain("Redoc.init('/api/openapi.json'");
    expect((await fetch(`${stack.url}/api/docs`)).status).toBe(200);
  });

  it('Redoc renders the document in a real browser with no script error or CSP violation', async () => {
    const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
    if (!existsSync(executablePath)) throw new Error(`needs Chromium at ${executablePath} (apt-get install chromium, or set CHROMIUM_PATH)`);
    const profile = mkdtempSync(join(tmpdir(), 'opsdesk-redoc-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 30_000,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      const problems: string[] = [];
      page.on('pageerror', (err) => problems.push(err.message));
      page.on('console', (msg) => {
        // Redoc's footer logo lives on its CDN: the CSP blocks it (the page loads nothing third-party) and Redoc hides it
        if (msg.type() === 'error' && !msg.text().includes("Loading the image 'https://cdn.redoc.ly/redoc/logo-mini.svg'")) problems.push(msg.text());
      });
      page.on('response', (res) => {
        if (res.status() >= 400) problems.push(`${res.status()} ${res.url()}`);
      });
      await page.goto(`${stack.url}/api/redoc`);
      // rendered: the operation's heading in the main panel, and a menu entry for every operation
      await page.locator('h2', { hasText: 'Create a host' }).first().waitFor({ timeout: 60_000 });
      expect(await page.locator('li[data-item-id^="tag/"][data-item-id*="/operation/"]').count()).toBe(operations(served).length);
      expect(problems).toEqual([]);
    } finally {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    }
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------ contract

interface Sent {
  token?: string;
  json?: unknown;
  body?: string | FormData;
  headers?: Record<string, string>;
}
interface Got {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown> & { items?: Array<Record<string, unknown>> };
}

/** One real request through the gateway; the response must match the document (else the test fails here). */
async function call(method: string, path: string, sent: Sent = {}, expectStatus?: number): Promise<Got> {
  const headers: Record<string, string> = { 'X-Forwarded-For': randomIp(), ...(sent.headers ?? {}) };
  if (sent.token) headers.Authorization = `Bearer ${sent.token}`;
  let body = sent.body;
  if (sent.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(sent.json);
  }
  const res = await fetch(`${stack.url}${path}`, { method, headers, body });
  const text = await res.text();
  const got: Got = { status: res.status, headers: res.headers, text, body: {} };
  if (isJson((res.headers.get('content-type') ?? '').split(';')[0].trim()) && text) got.body = JSON.parse(text) as Got['body'];
  checker.check(method, path, got);
  if (expectStatus !== undefined && res.status !== expectStatus) throw new Error(`${method} ${path}: expected ${expectStatus}, got ${res.status} ${text.slice(0, 300)}`);
  return got;
}

describe('every operation answers as the document says', () => {
  let admin: string;
  const pw = 'Contract-Passw0rd!';

  it('operations and auth', async () => {
    await call('GET', '/healthz', {}, 200);
    await call('GET', '/api/auth/jwks.json', {}, 200);
    await call('POST', '/api/auth/login', { json: { email: ADMIN_EMAIL, password: 'wrong-password' } }, 401);
    // login attempts are limited per client IP (burst 5): the sixth from one address is the documented 429
    const ip = randomIp();
    const attempts: Got[] = [];
    for (let i = 0; i < 6; i++) attempts.push(await call('POST', '/api/auth/login', { json: { email: 'nobody@contract.test', password: 'x' }, headers: { 'X-Forwarded-For': ip } }));
    const limited = attempts[attempts.length - 1];
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    admin = String((await call('POST', '/api/auth/login', { json: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }, 200)).body.access_token);
    await call('GET', '/api/auth/me', {}, 401);
    await call('GET', '/api/auth/me', { token: admin }, 200);

    // a user of its own for the session operations
    await call('POST', '/api/users', { token: admin, json: { email: 'bad', password: 'short' } }, 400);
    const user = (await call('POST', '/api/users', { token: admin, json: { email: 'session@contract.test', password: pw, role: 'viewer' } }, 201)).body;
    await call('POST', '/api/users', { token: admin, json: { email: 'session@contract.test', password: pw, role: 'viewer' } }, 409);
    const pair = (await call('POST', '/api/auth/login', { json: { email: 'session@contract.test', password: pw } }, 200)).body;
    const refreshed = (await call('POST', '/api/auth/refresh', { json: { refresh_token: pair.refresh_token } }, 200)).body;
    const token = String(refreshed.access_token);
    const setup = (await call('POST', '/api/auth/mfa/setup', { token }, 200)).body;
    const codes = (await call('POST', '/api/auth/mfa/enable', { token, json: { code: authenticator.generate(String(setup.secret)) } }, 200)).body;
    await call('POST', '/api/auth/mfa/disable', { token, json: { code: (codes.recovery_codes as string[])[0], password: pw } }, 204);
    await call('POST', '/api/auth/password', { token, json: { current_password: pw, new_password: 'Contract-Passw0rd!2' } }, 204);
    await call('POST', '/api/auth/logout', { token, json: {} }, 204);

    const created = (await call('POST', '/api/auth/tokens', { token: admin, json: { name: 'contract', expires_in_days: 1 } }, 201)).body;
    await call('GET', '/api/auth/tokens', { token: admin }, 200);
    // the API token is a second security scheme: it works wherever a JWT does
    await call('GET', '/api/auth/me', { token: String(created.token) }, 200);
    await call('DELETE', `/api/auth/tokens/${String(created.id)}`, { token: admin }, 204);

    await call('GET', '/api/users?limit=5', { token: admin }, 200);
    await call('GET', `/api/users/${String(user.id)}`, { token: admin }, 200);
    await call('GET', '/api/users/00000000-0000-4000-8000-000000000000', { token: admin }, 404);
    await call('PATCH', `/api/users/${String(user.id)}`, { token: admin, json: { role: 'operator' } }, 200);
    await call('POST', `/api/users/${String(user.id)}/mfa/reset`, { token: admin }, 204);
    await call('DELETE', `/api/users/${String(user.id)}`, { token: admin }, 204);
  });

  let hostId = '';
  it('hosts, tags, telemetry and settings', async () => {
    const viewer = (await call('POST', '/api/users', { token: admin, json: { email: 'viewer@contract.test', password: pw, role: 'viewer' } }, 201)).body;
    const viewerToken = String((await call('POST', '/api/auth/login', { json: { email: viewer.email, password: pw } }, 200)).body.access_token);
    const body = { hostname: 'contract-01', ip: '10.9.0.1', environment: 'dev', tags: ['web'] };
    await call('POST', '/api/hosts', { token: viewerToken, json: body }, 403);
    await call('POST', '/api/hosts', { token: admin, json: { ...body, ip: 'not-an-ip' } }, 400);
    const host = (await call('POST', '/api/hosts', { token: admin, json: body }, 201)).body;
    hostId = String(host.id);
    await call('POST', '/api/hosts', { token: admin, json: body }, 409);
    const got = await call('GET', `/api/hosts/${hostId}`, { token: admin }, 200);
    await call('PATCH', `/api/hosts/${hostId}`, { token: admin, json: { criticality: 'high' }, headers: { 'If-Match': got.headers.get('etag') ?? '' } }, 200);
    await call('PATCH', `/api/hosts/${hostId}`, { token: admin, json: { criticality: 'low' }, headers: { 'If-Match': got.headers.get('etag') ?? '' } }, 412);
    await call('GET', `/api/hosts/${hostId}?as_of=${encodeURIComponent(new Date().toISOString())}`, { token: admin }, 200);
    await call('GET', '/api/hosts?environment=dev&tag=web&sort=-created_at&limit=10', { token: admin }, 200);
    await call('GET', '/api/hosts/summary', { token: admin }, 200);
    await call('GET', `/api/hosts/${hostId}/history`, { token: admin }, 200);
    await call('POST', `/api/hosts/${hostId}/access-command`, { token: admin, json: { user: 'deploy' } }, 200);
    await call('GET', '/api/tags', { token: admin }, 200);
    await call('GET', '/api/hosts/export.csv?environment=dev', { token: admin }, 200);
    const csv = 'hostname,ip,environment\ncontract-02,10.9.0.2,dev\ncontract-03,10.9.0.3,stage\n';
    const report = (await call('POST', '/api/hosts/import?on_conflict=update', { token: admin, body: csv, headers: { 'Content-Type': 'text/csv' } }, 200)).body;
    expect(report.committed).toBe(true);
    await call('POST', '/api/hosts/import', { token: admin, body: csv, headers: { 'Content-Type': 'application/xml' } }, 415);
    // telemetry without Prometheus configured: the documented 503 and 404 problems; an empty page
    await call('POST', `/api/hosts/${hostId}/metrics:refresh`, { token: admin }, 503);
    await call('POST', `/api/hosts/${hostId}/metrics:update`, { token: admin }, 503);
    await call('GET', `/api/hosts/${hostId}/metrics/latest`, { token: admin }, 404);
    await call('GET', `/api/hosts/${hostId}/metrics:latest`, { token: admin }, 404);
    await call('GET', `/api/hosts/${hostId}/metrics`, { token: admin }, 200);

    await call('GET', '/api/settings/runtime', { token: admin }, 200);
    await call('GET', '/api/settings/integrations', { token: admin }, 200);
    await call('PUT', '/api/settings/integrations', { token: admin, json: { snapshot_ttl_seconds: 7200 } }, 200);

    const doomed = (await call('POST', '/api/hosts', { token: admin, json: { hostname: 'contract-doomed', ip: '10.9.0.9', environment: 'dev' } }, 201)).body;
    await call('DELETE', `/api/hosts/${String(doomed.id)}`, { token: admin, headers: { 'If-Match': '"1"' } }, 204);
    await call('GET', `/api/hosts/${String(doomed.id)}`, { token: admin }, 404);
  });

  it('artifacts', async () => {
    const content = Buffer.from('line 1\nline 2\nthe contract log\n');
    const form = new FormData();
    form.append('kind', 'log');
    form.append('description', 'contract test');
    form.append('file', new Blob([content], { type: 'text/plain' }), 'build.log');
    const artifact = (await call('POST', `/api/hosts/${hostId}/artifacts`, { token: admin, body: form }, 201)).body;
    const id = String(artifact.id);
    await call('GET', `/api/hosts/${hostId}/artifacts`, { token: admin }, 200);
    await call('GET', `/api/artifacts?kind=log&host_id=${hostId}`, { token: admin }, 200);
    await call('GET', `/api/artifacts/${id}`, { token: admin }, 200);
    const full = await call('GET', `/api/artifacts/${id}/download`, { token: admin }, 200);
    expect(full.text).toBe(content.toString());
    await call('GET', `/api/artifacts/${id}/download`, { token: admin, headers: { Range: 'bytes=0-5' } }, 206);
    await call('GET', `/api/artifacts/${id}/download`, { token: admin, headers: { 'If-None-Match': full.headers.get('etag') ?? '' } }, 304);
    await call('GET', `/api/artifacts/${id}/download`, { token: admin, headers: { Range: 'bytes=5000-6000' } }, 416);
    await call('POST', `/api/artifacts/${id}/verify`, { token: admin }, 200);
    await call('DELETE', `/api/artifacts/${id}`, { token: admin }, 204);
    await call('GET', `/api/artifacts/${id}`, { token: admin }, 404);
  });

  it('audit', async () => {
    await call('GET', '/api/audit?limit=20', { token: admin }, 200);
    await call('GET', '/api/audit?from=yesterday', { token: admin }, 400);
    await call('GET', '/api/audit/verify', { token: admin }, 200);
    await call('GET', '/api/audit/public-key', {}, 200);
    await call('GET', '/api/audit/export.csv?action=auth.*', { token: admin }, 200);
    await call('GET', '/api/audit/export.jsonl', { token: admin }, 200);
  });

  it('covered every operation of the document', () => {
    const all = operations(served).map((o) => String(o.op.operationId));
    expect(all.filter((id) => !checker.seen.has(id))).toEqual([]);
  });
});
