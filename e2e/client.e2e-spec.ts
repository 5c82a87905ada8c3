import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpsDeskClient, hostETag, importHostsCsv, uploadArtifact, type OpsDeskClient } from '@opsdesk/client';
// eslint-disable-next-line @nx/enforce-module-boundaries -- the docs/API.md example is run exactly as written, not through the package's API
import { attachBuildLog } from '../libs/client/src/examples/attach-build-log';
import { ADMIN_EMAIL, ADMIN_PASSWORD, randomIp, startStack, waitFor, type Stack } from './support/stack';

/**
 * Real flows through the generated typed client (libs/client) against the real system: what a CI job or a
 * CMDB sync script does. Every call is type-checked against docs/openapi.json at compile time.
 */

let stack: Stack;
let storage: string;
let api: OpsDeskClient;
let apiToken = '';

beforeAll(async () => {
  storage = mkdtempSync(join(tmpdir(), 'opsdesk-client-e2e-'));
  stack = await startStack('cliente2e', {
    services: ['auth', 'inventory', 'audit', 'artifacts'],
    env: { RATE_LIMIT_API_PER_MINUTE: '100000', ARTIFACT_STORAGE_PATH: storage },
  });
  // log in with the client, then act with a personal API token, as a script would
  const anonymous = createOpsDeskClient({ baseUrl: stack.url, headers: { 'X-Forwarded-For': randomIp() } });
  const login = await anonymous.POST('/api/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
  if (!login.data) throw new Error(`login: ${JSON.stringify(login.error)}`);
  const session = createOpsDeskClient({ baseUrl: stack.url, token: login.data.access_token });
  // a CI job's token: write scope (hosts, artifacts; reads include the audit trail)
  const token = await session.POST('/api/auth/tokens', { body: { name: 'client-e2e', scope: 'write', expires_in_days: 1 } });
  if (!token.data) throw new Error(`token: ${JSON.stringify(token.error)}`);
  expect(token.data.token).toMatch(/^odp_/);
  apiToken = token.data.token;
  api = createOpsDeskClient({ baseUrl: `${stack.url}/`, token: () => token.data?.token });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

describe('the typed client', () => {
  let hostId = '';

  it('creates a host, updates it with If-Match, and gets 412 with a stale ETag', async () => {
    const created = await api.POST('/api/hosts', { body: { hostname: 'client-web-01', ip: '10.42.0.1', environment: 'stage', tags: ['web'] } });
    expect(created.response.status).toBe(201);
    const host = created.data!;
    hostId = host.id;
    expect(host).toMatchObject({ hostname: 'client-web-01', environment: 'stage', os: 'linux', criticality: 'medium', version: 1 });
    expect(created.response.headers.get('etag')).toBe(hostETag(host));

    const updated = await api.PATCH('/api/hosts/{id}', { params: { path: { id: host.id }, header: { 'If-Match': hostETag(host) } }, body: { criticality: 'high' } });
    expect(updated.data).toMatchObject({ criticality: 'high', version: 2 });

    const stale = await api.PATCH('/api/hosts/{id}', { params: { path: { id: host.id }, header: { 'If-Match': hostETag(host) } }, body: { criticality: 'low' } });
    expect(stale.data).toBeUndefined();
    expect(stale.response.status).toBe(412);
    expect(stale.error).toMatchObject({ status: 412, code: 'INVENTORY.PRECONDITION_FAILED' });
  });

  it('lists with filters and pages with next_cursor', async () => {
    const csv = ['hostname,ip,environment', ...Array.from({ length: 5 }, (_, i) => `client-db-0${i},10.42.1.${i + 1},stage`)].join('\n');
    const report = await importHostsCsv(api, csv, { on_conflict: 'fail' });
    expect(report.data?.summary).toMatchObject({ rows: 5, created: 5, error: 0 });

    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await api.GET('/api/hosts', { params: { query: { environment: 'stage', q: 'client-db', limit: 2, cursor } } });
      expect(page.error).toBeUndefined();
      seen.push(...page.data!.items.map((h) => h.hostname));
      cursor = page.data!.next_cursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(['client-db-00', 'client-db-01', 'client-db-02', 'client-db-03', 'client-db-04']);

    const tagged = await api.GET('/api/hosts', { params: { query: { tag: ['web'] } } });
    expect(tagged.data?.items.map((h) => h.id)).toEqual([hostId]);
  });

  it('uploads an artifact and downloads it back', async () => {
    const log = 'build 1234 ok\n'.repeat(100);
    const up = await uploadArtifact(api, hostId, new Blob([log], { type: 'text/plain' }), { filename: 'build.log', kind: 'log', description: 'CI build log' });
    expect(up.response.status).toBe(201);
    expect(up.data).toMatchObject({ host_id: hostId, kind: 'log', size: log.length, description: 'CI build log' });

    const listed = await api.GET('/api/hosts/{id}/artifacts', { params: { path: { id: hostId } } });
    expect(listed.data?.items.map((a) => a.id)).toEqual([up.data!.id]);

    const down = await api.GET('/api/artifacts/{id}/download', { params: { path: { id: up.data!.id } }, parseAs: 'text' });
    expect(down.data).toBe(log);
    expect(down.response.headers.get('etag')).toBe(`"${up.data!.sha256}"`);
  });

  it('reads the audit trail of what it did', async () => {
    const records = await waitFor(
      async () => {
        const page = await api.GET('/api/audit', { params: { query: { entity_id: hostId, limit: 50 } } });
        const types = (page.data?.items ?? []).map((r) => r.type);
        return types.includes('inventory.host.updated') && types.includes('inventory.host.created') ? page.data!.items : null;
      },
      { timeoutMs: 30_000, what: 'audit records of the host' },
    );
    expect(records.every((r) => r.entity_id === hostId)).toBe(true);
    expect(records[0].actor?.email).toBe(ADMIN_EMAIL);
  });

  it('runs the docs/API.md example (libs/client/src/examples/attach-build-log.ts)', async () => {
    const logFile = join(storage, 'build.log');
    writeFileSync(logFile, 'compiling…\nall 812 tests passed\n');
    const { host, artifact } = await attachBuildLog({ baseUrl: stack.url, token: apiToken, logFile, hostname: 'build-42', ip: '10.42.9.42' });
    expect(host).toMatchObject({ hostname: 'build-42', owner: 'ci@example.com', version: 2 });
    expect(artifact).toMatchObject({ host_id: host.id, original_name: 'build.log', kind: 'log', size: Buffer.byteLength('compiling…\nall 812 tests passed\n') });
  });

  it('reports problems as typed errors, not exceptions', async () => {
    const bad = await api.POST('/api/hosts', { body: { hostname: 'client-bad', ip: 'not-an-ip', environment: 'dev' } });
    expect(bad.response.status).toBe(400);
    expect(bad.error?.errors).toEqual([expect.objectContaining({ field: 'ip' })]);
    const anonymous = createOpsDeskClient({ baseUrl: stack.url });
    const denied = await anonymous.GET('/api/hosts');
    expect(denied.response.status).toBe(401);
    expect(denied.error?.code).toBe('AUTH.UNAUTHENTICATED');
  });
});
