import { spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { NGINX_BIN, freePort, makeSelfSignedCert, redRequestCount, startNginx, writeKubernetesEdgeTree, writeNginxTree, type NginxTree, type RunningNginx } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, startStack, waitFor, type Stack } from './support/stack';

/**
 * The edge's one-hop artifact routes (deploy/nginx/opsdesk.conf, docs/PERFORMANCE.md change 20) with the real
 * nginx from deploy/ in front of the real gateway and artifacts service: the bytes of an upload or a download go
 * from nginx straight to the artifacts service with a ticket the gateway issued (its internal port), and every
 * refusal is still the gateway's (problem document, denied event).
 */
const WITH_AUDIT = existsSync(join(__dirname, '..', 'services', 'audit', 'src', 'bootstrap.ts'));
const LIMIT_MB = 2;
const API_PER_MINUTE = 60;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

interface Edge {
  dir: string;
  tree: NginxTree;
  nginx: RunningNginx;
}

let stack: Stack;
let storage: string;
let tree: NginxTree;
/** every nginx a test started, stopped and removed in afterAll */
const edges: Array<{ dir: string; nginx: RunningNginx }> = [];
let operator: { id: string; token: string };
let viewer: { id: string; token: string };
let auditor: { id: string; token: string };
let admin: string;

/**
 * One request (`open` makes it, with the given headers plus the body's length), the body sent in 64 KiB writes like a
 * streaming client, the whole answer read.
 */
function exchange(open: (headers: Record<string, string>, onResponse: (res: IncomingMessage) => void) => ClientRequest, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = open({ ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (body) for (let i = 0; i < body.length; i += 65536) req.write(body.subarray(i, i + 65536));
    req.end();
  });
}

/** One HTTPS request to nginx (self-signed certificate). */
function edge(method: string, path: string, headers: Record<string, string>, body?: Buffer, port = tree.httpsPort): Promise<Answer> {
  return exchange((h, cb) => httpsRequest({ host: '127.0.0.1', port, method, path, rejectUnauthorized: false, headers: h }, cb), headers, body);
}

function multipart(content: Buffer, filename: string, kind = 'log'): { body: Buffer; type: string } {
  const b = `----opsdeskedge${randomBytes(8).toString('hex')}`;
  const body = Buffer.concat([
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="kind"\r\n\r\n${kind}\r\n`),
    Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`),
    content,
    Buffer.from(`\r\n--${b}--\r\n`),
  ]);
  return { body, type: `multipart/form-data; boundary=${b}` };
}

const json = (a: Answer) => JSON.parse(a.body.toString('utf8')) as Record<string, unknown>;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** How many POST uploads the gateway itself answered (its RED histogram on its internal port). */
async function gatewayUploads(): Promise<number> {
  return redRequestCount((await request(stack.internalUrl).get('/metrics')).text, [['POST', '/api/hosts/:id/artifacts']]);
}

async function createHost(): Promise<string> {
  const res = await request(stack.url)
    .post('/api/hosts')
    .set(bearer(admin))
    .send({ hostname: `edge-${randomBytes(4).toString('hex')}`, ip: `10.91.${randomBytes(1)[0]}.${(randomBytes(1)[0] % 250) + 1}`, environment: 'dev' });
  if (res.status !== 201) throw new Error(`create host: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

beforeAll(async () => {
  if (spawnSync(NGINX_BIN, ['-v']).status !== 0) throw new Error(`${NGINX_BIN} is not installed: node scripts/ensure-tools.mjs installs it`);
  storage = mkdtempSync(join(tmpdir(), 'opsdesk-edge-artifacts-'));
  stack = await startStack('edgeart', {
    services: ['auth', 'inventory', ...(WITH_AUDIT ? ['audit'] : []), 'artifacts'],
    // an API budget a test can drain on purpose (each of the other tests' callers stays far below it)
    env: { ARTIFACT_STORAGE_PATH: storage, MAX_ARTIFACT_SIZE_MB: String(LIMIT_MB), RATE_LIMIT_API_PER_MINUTE: String(API_PER_MINUTE) },
  });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  operator = await createUser(stack.url, admin, 'operator@edge.test', 'operator');
  viewer = await createUser(stack.url, admin, 'viewer@edge.test', 'viewer');
  auditor = await createUser(stack.url, admin, 'auditor@edge.test', 'auditor');

  tree = (await startEdge({ gatewayInternal: new URL(stack.internalUrl).host, artifacts: new URL(stack.env.ARTIFACTS_URL as string).host })).tree;
}, 120_000);

afterAll(async () => {
  for (const e of edges) {
    await e.nginx.stop();
    rmSync(e.dir, { recursive: true, force: true });
  }
  await stack?.stop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

/** The edge nginx from deploy/ in front of this stack's gateway; `more` says where its two one-hop upstreams point. */
async function startEdge(more: { gatewayInternal?: string; artifacts?: string }): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-edge-nginx-'));
  const t = writeNginxTree(dir, new URL(stack.url).host, await freePort(), await freePort(), more);
  makeSelfSignedCert(dir);
  const nginx = await startNginx(t, async () => (await edge('GET', '/healthz', {}, undefined, t.httpsPort)).status === 200);
  const e = { dir, tree: t, nginx };
  edges.push(e);
  return e;
}

describe('edge: artifact bytes in one hop (nginx → artifacts, ticket from the gateway)', () => {
  it('an upload goes straight to the artifacts service, a download comes straight back, both audited as before', async () => {
    const host = await createHost();
    const content = randomBytes(LIMIT_MB * 1024 * 1024 - 4096);
    const { body, type } = multipart(content, 'one-hop.bin');
    const before = await gatewayUploads();
    const up = await edge('POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${operator.token}`, 'content-type': type, 'x-request-id': 'edge-upload-1' }, body);
    expect({ status: up.status, body: up.status === 201 ? null : up.body.toString() }).toEqual({ status: 201, body: null });
    const art = json(up) as { id: string; sha256: string; size_bytes: number; host_id: string };
    expect(art.sha256).toBe(sha256(content));
    expect(art.host_id).toBe(host);
    // the gateway answered no upload itself: the bytes did not pass through it
    expect(await gatewayUploads()).toBe(before);
    expect(up.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(up.headers['x-content-type-options']).toBe('nosniff');

    const down = await edge('GET', `/api/artifacts/${art.id}/download`, { authorization: `Bearer ${auditor.token}`, 'x-request-id': 'edge-download-1' });
    expect(down.status).toBe(200);
    expect(sha256(down.body)).toBe(art.sha256);
    expect(String(down.headers['content-disposition'])).toMatch(/^attachment;/);
    expect(down.headers['x-content-type-options']).toBe('nosniff');
    // a range straight from the artifacts service too
    const part = await edge('GET', `/api/artifacts/${art.id}/download`, { authorization: `Bearer ${auditor.token}`, range: 'bytes=10-19' });
    expect(part.status).toBe(206);
    expect(part.body.equals(content.subarray(10, 20))).toBe(true);

    if (WITH_AUDIT) {
      const entries = await waitFor(
        async () => {
          const r = await request(stack.url).get('/api/audit').query({ entity_id: art.id, limit: 50 }).set(bearer(auditor.token));
          const items = (r.body.items ?? []) as Array<{ type: string; actor: { user_id: string; ip: string | null } | null; request_id?: string; data: Record<string, unknown> }>;
          return ['artifacts.artifact.uploaded', 'artifacts.artifact.downloaded'].every((t) => items.some((i) => i.type === t)) ? items : null;
        },
        { timeoutMs: 20_000, what: 'the upload and download in the audit trail' },
      );
      const uploaded = entries.find((i) => i.type === 'artifacts.artifact.uploaded')!;
      expect(uploaded.actor?.user_id).toBe(operator.id);
      expect(uploaded.data.sha256).toBe(art.sha256);
      expect(uploaded.request_id).toBe('edge-upload-1');
      expect(entries.find((i) => i.type === 'artifacts.artifact.downloaded')!.actor?.user_id).toBe(auditor.id);
    }
  });

  it('refusals are the gateway’s: 401 and 403 problem documents, nothing stored', async () => {
    const host = await createHost();
    const { body, type } = multipart(randomBytes(200_000), 'refused.bin');
    const anonymous = await edge('POST', `/api/hosts/${host}/artifacts`, { 'content-type': type }, body);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['content-type']).toMatch(/application\/problem\+json/);
    const forbidden = await edge('POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${viewer.token}`, 'content-type': type }, body);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(json(forbidden).code).toBe('AUTH.FORBIDDEN');
    const viewerDownload = await edge('GET', `/api/artifacts/${randomUUID()}/download`, { authorization: `Bearer ${viewer.token}` });
    expect(viewerDownload.status).toBe(403);
    // a body that is not a form is the gateway's to refuse, as before (415, not the artifacts service's 400)
    const notAForm = await edge('POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${operator.token}`, 'content-type': 'application/json' }, Buffer.from('{"kind":"log"}'));
    expect(notAForm.status).toBe(415);
    expect(json(notAForm).code).toBe('COMMON.UNSUPPORTED_MEDIA_TYPE');
    // the host's artifact list (GET on the upload URI) is the gateway's JSON route, as before
    const list = await edge('GET', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${viewer.token}` });
    expect(list.status).toBe(200);
    expect(json(list).items).toEqual([]);
  });

  it("the artifacts service's own errors reach the client as problem documents (413 while streaming, 400, 404)", async () => {
    const host = await createHost();
    const big = multipart(randomBytes(LIMIT_MB * 1024 * 1024 + 65536), 'too-big.bin');
    const tooBig = await edge('POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${operator.token}`, 'content-type': big.type, 'x-request-id': 'edge-413' }, big.body).catch(
      // the service may close the connection before the client finished sending: that is a 413 too, unread
      (err: Error) => ({ status: -1, headers: {}, body: Buffer.from(err.message) }) as Answer,
    );
    if (tooBig.status !== -1) {
      expect(tooBig.status).toBe(413);
      expect(tooBig.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(json(tooBig)).toMatchObject({ status: 413, code: expect.any(String), request_id: 'edge-413', title: 'Content Too Large' });
    }
    const noKind = await edge(
      'POST',
      `/api/hosts/${host}/artifacts`,
      { authorization: `Bearer ${operator.token}`, 'content-type': 'multipart/form-data; boundary=x' },
      Buffer.from('--x\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello\r\n--x--\r\n'),
    );
    expect(noKind.status).toBe(400);
    expect(noKind.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(json(noKind)).toMatchObject({ status: 400, type: expect.stringMatching(/^https:\/\/opsdesk\.dev\/problems\//) });
    const missing = await edge('GET', `/api/artifacts/${randomUUID()}/download`, { authorization: `Bearer ${auditor.token}` });
    expect(missing.status).toBe(404);
    expect(json(missing)).toMatchObject({ status: 404, code: expect.stringMatching(/NOT_FOUND$/) });
    // nothing was kept of the refused uploads
    const list = await request(stack.url).get(`/api/hosts/${host}/artifacts`).set(bearer(operator.token));
    expect(list.body.items).toEqual([]);
  });

  it('a caller over its API rate limit gets no ticket: the gateway answers the 429 and the body never reaches artifacts', async () => {
    const host = await createHost();
    const burst = await createUser(stack.url, admin, 'burst@edge.test', 'operator');
    // drain the caller's API bucket on the gateway's own routes, in parallel bursts: one token comes back every second
    // (60 a minute), so 61 requests one after another only drain it on a machine that answers each in < 16 ms
    const drainedAt = await waitFor(
      async () => {
        const statuses = await Promise.all(Array.from({ length: 20 }, async () => (await request(stack.url).get('/api/auth/me').set(bearer(burst.token))).status));
        expect(statuses.filter((st) => st !== 200 && st !== 429)).toEqual([]);
        return statuses.includes(429) ? Date.now() : null;
      },
      { timeoutMs: 30_000, intervalMs: 0, what: "the caller's API bucket drained" },
    );
    // uploads at once right after: a token may come back meanwhile (one per second since the bucket ran dry), no more
    const { body, type } = multipart(randomBytes(100_000), 'limited.bin');
    const answers = await Promise.all(Array.from({ length: 8 }, () => edge('POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${burst.token}`, 'content-type': type }, body)));
    const elapsedSeconds = (Date.now() - drainedAt) / 1000;
    const limited = answers.filter((a) => a.status === 429);
    expect(answers.map((a) => a.status).filter((st) => st !== 429 && st !== 201)).toEqual([]);
    expect(answers.length - limited.length).toBeLessThanOrEqual(Math.ceil(elapsedSeconds) + 1);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    for (const a of limited) {
      expect(a.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(Number(a.headers['retry-after'])).toBeGreaterThan(0);
      expect(json(a).code).toBe('GATEWAY.RATE_LIMITED');
    }
    // what was refused never reached the artifacts service
    const list = await request(stack.url).get(`/api/hosts/${host}/artifacts`).set(bearer(operator.token));
    expect(list.body.items).toHaveLength(answers.length - limited.length);
  });

  it('with the ticket route unreachable the bytes take the gateway route: nothing is refused, nothing lost', async () => {
    // this edge's opsdesk_gateway_internal upstream points nowhere (auth_request fails → 500 → the gateway's route)
    const down = await startEdge({ artifacts: new URL(stack.env.ARTIFACTS_URL as string).host });
    const host = await createHost();
    const content = randomBytes(300_000);
    const { body, type } = multipart(content, 'fallback.bin');
    const before = await gatewayUploads();
    const up = await edge('POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${operator.token}`, 'content-type': type }, body, down.tree.httpsPort);
    expect({ status: up.status, body: up.status === 201 ? null : up.body.toString() }).toEqual({ status: 201, body: null });
    expect(json(up).sha256).toBe(sha256(content));
    // the gateway relayed this one itself
    expect(await gatewayUploads()).toBe(before + 1);
    const back = await edge('GET', `/api/artifacts/${String(json(up).id)}/download`, { authorization: `Bearer ${auditor.token}` }, undefined, down.tree.httpsPort);
    expect(back.status).toBe(200);
    expect(sha256(back.body)).toBe(sha256(content));
  });

  it('tickets are served on the gateway’s internal port only, and a ticket opens only its own route', async () => {
    // public: neither through nginx nor on the gateway's public port (any spelling the router accepts)
    expect((await edge('GET', '/api/edge/artifact-ticket', { authorization: `Bearer ${operator.token}` })).status).toBe(404);
    for (const path of ['/api/edge/artifact-ticket', '/api/edge/artifact-ticket/', '/api/edge/artifact-ticket?x=1']) {
      const res = await request(stack.url).get(path).set(bearer(operator.token)).set('X-Original-Method', 'POST').set('X-Original-URI', `/api/hosts/${randomUUID()}/artifacts`);
      expect({ path, status: res.status, ticket: res.headers['x-opsdesk-ticket'] }).toEqual({ path, status: 404, ticket: undefined });
    }
    // internal port: a ticket for one host's upload, refused by the artifacts service for another host
    const [a, b] = [await createHost(), await createHost()];
    const t = await request(stack.internalUrl).get('/api/edge/artifact-ticket').set(bearer(operator.token)).set('X-Original-Method', 'POST').set('X-Original-URI', `/api/hosts/${a}/artifacts`);
    expect(t.status).toBe(204);
    const ticket = t.headers['x-opsdesk-ticket'] as string;
    expect(ticket).toEqual(expect.any(String));
    const { body, type } = multipart(Buffer.from('x'), 'replayed.txt');
    const replay = await request(stack.env.ARTIFACTS_URL as string).post(`/internal/hosts/${b}/artifacts`).set('Authorization', `Internal ${ticket}`).set('Content-Type', type).send(body);
    expect(replay.status).toBe(401);
    // no ticket for other routes or methods, nor for a role without the permission (quiet: nginx falls back)
    for (const [who, method, uri] of [
      [operator.token, 'GET', `/api/hosts/${a}/artifacts`],
      [operator.token, 'DELETE', `/api/artifacts/${randomUUID()}`],
      [operator.token, 'POST', `/api/hosts/${a}/artifacts?x=1`],
      [viewer.token, 'POST', `/api/hosts/${a}/artifacts`],
      [viewer.token, 'GET', `/api/artifacts/${randomUUID()}/download`],
    ] as const) {
      const r = await request(stack.internalUrl).get('/api/edge/artifact-ticket').set(bearer(who)).set('X-Original-Method', method).set('X-Original-URI', uri);
      expect({ method, uri, status: r.status, ticket: r.headers['x-opsdesk-ticket'], body: r.text }).toEqual({ method, uri, status: 403, ticket: undefined, body: '' });
    }
    const anonymous = await request(stack.internalUrl).get('/api/edge/artifact-ticket').set('X-Original-Method', 'POST').set('X-Original-URI', `/api/hosts/${a}/artifacts`);
    expect(anonymous.status).toBe(401);
  });
});

/**
 * The Helm chart's edge (templates/edge.yaml): deploy/nginx/kubernetes with the shared request handling, laid out
 * and rendered as the chart mounts it (writeKubernetesEdgeTree), behind an "ingress controller" at 127.0.0.2 — the
 * only peer whose X-Forwarded-For it believes (ingress.trustedProxies → set_real_ip_from). Plain HTTP: TLS is the
 * Ingress's.
 */
describe("the Helm chart's edge nginx (deploy/nginx/kubernetes) behind an ingress controller", () => {
  const INGRESS_CONTROLLER = '127.0.0.2';
  let k8s: { dir: string; port: number; nginx: RunningNginx };
  let uploader: { id: string; token: string };

  /** One plain HTTP request to the Kubernetes edge, sent from `from` (a loopback address of this machine). */
  function viaIngress(from: string, method: string, path: string, headers: Record<string, string>, body?: Buffer): Promise<Answer> {
    return exchange((h, cb) => httpRequest({ host: '127.0.0.1', port: k8s.port, localAddress: from, method, path, headers: h }, cb), headers, body);
  }

  /** The actor address audit recorded for one event of an entity (the address the whole path believed). */
  async function auditedIp(entity: string, type: string, requestId: string): Promise<string | null> {
    return waitFor(
      async () => {
        const r = await request(stack.url).get('/api/audit').query({ entity_id: entity, limit: 50 }).set(bearer(auditor.token));
        const items = (r.body.items ?? []) as Array<{ type: string; request_id?: string; actor: { ip: string | null } | null }>;
        const hit = items.find((i) => i.type === type && i.request_id === requestId);
        return hit ? { ip: hit.actor?.ip ?? null } : null;
      },
      { timeoutMs: 20_000, what: `${type} (${requestId}) in the audit trail` },
    ).then((h) => h.ip);
  }

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-edge-k8s-'));
    const t = writeKubernetesEdgeTree(
      dir,
      { gateway: new URL(stack.url).host, gatewayInternal: new URL(stack.internalUrl).host, artifacts: new URL(stack.env.ARTIFACTS_URL as string).host },
      await freePort(),
      await freePort(),
      [INGRESS_CONTROLLER],
    );
    const nginx = await startNginx(t, async () => (await fetch(`http://127.0.0.1:${t.probePort}/healthz`)).status === 200);
    k8s = { dir, port: t.port, nginx };
    edges.push({ dir, nginx });
    uploader = await createUser(stack.url, admin, 'k8s-uploader@edge.test', 'operator');
  });

  it('an upload and a download go one hop, audited with the address the ingress controller named', async () => {
    const host = await createHost();
    const content = randomBytes(512 * 1024);
    const { body, type } = multipart(content, 'k8s-one-hop.bin');
    const before = await gatewayUploads();
    const up = await viaIngress(INGRESS_CONTROLLER, 'POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${uploader.token}`, 'content-type': type, 'x-request-id': 'k8s-upload-1', 'x-forwarded-for': '203.0.113.7' }, body);
    expect({ status: up.status, body: up.status === 201 ? null : up.body.toString() }).toEqual({ status: 201, body: null });
    const art = json(up) as { id: string; sha256: string };
    expect(art.sha256).toBe(sha256(content));
    expect(await gatewayUploads()).toBe(before);
    expect(up.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    const down = await viaIngress(INGRESS_CONTROLLER, 'GET', `/api/artifacts/${art.id}/download`, { authorization: `Bearer ${auditor.token}`, 'x-request-id': 'k8s-download-1', 'x-forwarded-for': '203.0.113.8' });
    expect(down.status).toBe(200);
    expect(sha256(down.body)).toBe(art.sha256);
    if (WITH_AUDIT) {
      expect(await auditedIp(art.id, 'artifacts.artifact.uploaded', 'k8s-upload-1')).toBe('203.0.113.7');
      expect(await auditedIp(art.id, 'artifacts.artifact.downloaded', 'k8s-download-1')).toBe('203.0.113.8');
    }
    // the console and the API through the same edge, to the gateway
    expect((await viaIngress(INGRESS_CONTROLLER, 'GET', '/api/auth/me', { authorization: `Bearer ${uploader.token}` })).status).toBe(200);
    expect((await viaIngress(INGRESS_CONTROLLER, 'GET', '/metrics', {})).status).toBe(404);
  });

  it('X-Forwarded-For from any other peer is not believed; refusals are still the gateway’s problem documents', async () => {
    const host = await createHost();
    const { body, type } = multipart(randomBytes(1024), 'k8s-untrusted.bin');
    const up = await viaIngress('127.0.0.1', 'POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${uploader.token}`, 'content-type': type, 'x-request-id': 'k8s-upload-2', 'x-forwarded-for': '198.51.100.9' }, body);
    expect(up.status).toBe(201);
    if (WITH_AUDIT) expect(await auditedIp((json(up) as { id: string }).id, 'artifacts.artifact.uploaded', 'k8s-upload-2')).toBe('127.0.0.1');
    const forbidden = await viaIngress(INGRESS_CONTROLLER, 'POST', `/api/hosts/${host}/artifacts`, { authorization: `Bearer ${viewer.token}`, 'content-type': type, 'x-forwarded-for': '203.0.113.9' }, body);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(json(forbidden).code).toBe('AUTH.FORBIDDEN');
  });
});
