import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import request from 'supertest';
import type { DataSource } from 'typeorm';
import { ContextSigner, InternalTokenIssuer, rpcContextSigner, type Principal } from '@opsdesk/authn';
import { ArtifactsInternalPaths, ArtifactsRpc, InventoryRpc, type RpcContext } from '@opsdesk/contracts';
import { applyRuntimeGrants, runMigrations } from '@opsdesk/database';
import { RpcClient, provisionNatsFromEnv } from '@opsdesk/messaging';
import { NATS_PROVISION_USER, createTestEnv, natsServiceEnv, rawBody, serviceEnv, testNatsLogin, waitFor, type TestDatabase } from '@opsdesk/testing';
import { bootstrapFromEnv } from '../src/bootstrap';
import { createDataSource } from '../src/database/data-source';
import { BlobCollector } from '../src/storage/blob-collector.service';
import { BLOB_LOCK_CLASS, BLOB_LOCK_SQL } from '../src/storage/blob-lock';
import { STORAGE_DRIVERS, startStorage, type StorageHarness } from './support/storage-harness';

/**
 * The artifacts service on its own: internal HTTP body routes called with gateway-style internal tokens,
 * RPC for metadata, the real inventory service for host checks and host deletion, real Postgres and NATS.
 * The whole suite runs once per storage driver: fs (a temp directory) and s3 (s3rver on 127.0.0.1, reached
 * through the AWS SDK over HTTP).
 */
const INVENTORY_DIR = join(__dirname, '..', '..', 'inventory', 'src');
interface ServiceModule {
  bootstrapFromEnv(env: NodeJS.ProcessEnv, opts?: Record<string, unknown>): Promise<NestFastifyApplication>;
}

let env: NodeJS.ProcessEnv;
let testDb: TestDatabase;
let storage: StorageHarness;
let inventory: NestFastifyApplication;
let app: NestFastifyApplication;
let url: string;
let rpc: RpcClient;
let pg: Client;
// the test plays the gateway: it signs internal tokens and RPC contexts with the suite's gateway key
let tokens: InternalTokenIssuer;
// the service's storage clock runs this far ahead when a test wants leftovers to look older than the grace period
let clockSkewMs = 0;
const GRACE_SECONDS = 3600;

const principal = (role: Principal['role']): Principal => ({ kind: 'jwt', user_id: '11111111-1111-4111-8111-111111111111', email: `${role}@int.test`, role });
const ctx: RpcContext = {
  actor: { user_id: principal('admin').user_id, email: 'admin@int.test', ip: '127.0.0.1', user_agent: 'int-spec' },
  request_id: 'int-spec',
  principal: { user_id: principal('admin').user_id, role: 'admin' },
};
function internal(method: string, path: string, role: Principal['role'] = 'operator'): string {
  return `Internal ${tokens.sign({ principal: principal(role), actor: ctx.actor!, request_id: `req-${randomBytes(4).toString('hex')}`, aud: 'artifacts', method, path })}`;
}
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function uploadReq(hostId: string, fields: Array<[string, string]>, file: { name: string; content: Buffer } | null, fieldsFirst = true, role: Principal['role'] = 'operator') {
  const path = ArtifactsInternalPaths.upload(hostId);
  const r = request(url).post(path).set('Authorization', internal('POST', path, role));
  const attachFile = () => (file ? r.attach('file', file.content, file.name) : r);
  if (!fieldsFirst) attachFile();
  for (const [k, v] of fields) r.field(k, v);
  if (fieldsFirst) attachFile();
  return r;
}

function downloadReq(id: string, headers: Record<string, string> = {}, role: Principal['role'] = 'auditor') {
  const path = ArtifactsInternalPaths.download(id);
  return request(url)
    .get(path)
    .set('Authorization', internal('GET', path, role))
    .set(headers)
    .buffer(true)
    .parse(rawBody);
}

async function createHost(): Promise<string> {
  const h = await rpc.call(
    InventoryRpc.HOSTS_CREATE,
    { hostname: `int-${randomBytes(4).toString('hex')}`, ip: `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250) + 1}`, environment: 'dev' },
    ctx,
  );
  return h.id;
}

describe.each(STORAGE_DRIVERS)('artifacts service with %s storage', (driver) => {
  beforeAll(async () => {
    storage = await startStorage(driver, `artifactsint-${driver}`);
    const t = await createTestEnv(`artifactsint${driver}`, { MAX_ARTIFACT_SIZE_MB: '1', ARTIFACT_ORPHAN_GRACE_SECONDS: String(GRACE_SECONDS), ...storage.env });
    env = t.env;
    testDb = t.db;
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the inventory service is found by convention, like in the e2e stack
    const invData = require(join(INVENTORY_DIR, 'database', 'data-source')) as { createDataSource(url: string): DataSource };
    // migrations as the migrator, each service with its own login (SPEC §7)
    await runMigrations(invData.createDataSource(t.logins.urls.migrator));
    await runMigrations(createDataSource(t.logins.urls.migrator));
    await applyRuntimeGrants(t.logins.urls.migrator);
    await provisionNatsFromEnv(env, testNatsLogin(NATS_PROVISION_USER));
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- found by convention
    inventory = await (require(join(INVENTORY_DIR, 'bootstrap')) as ServiceModule).bootstrapFromEnv({ ...serviceEnv(t, 'inventory'), ...natsServiceEnv('inventory') }, { quiet: true });
    app = await bootstrapFromEnv({ ...serviceEnv(t, 'artifacts'), ...natsServiceEnv('artifacts') }, { quiet: true, clock: () => Date.now() + clockSkewMs });
    const addr = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    const gateway = new ContextSigner('gateway', env.GATEWAY_CONTEXT_PRIVATE_KEY as string);
    tokens = new InternalTokenIssuer(gateway);
    rpc = new RpcClient({
      servers: [env.NATS_URL as string],
      subjectPrefix: env.RPC_SUBJECT_PREFIX as string,
      timeoutMs: 10_000,
      name: 'artifacts-int-spec',
      signContext: rpcContextSigner(gateway),
      credentials: testNatsLogin('gateway'),
    });
    await rpc.connect();
    pg = new Client({ connectionString: testDb.url });
    await pg.connect();
  }, 60_000);

  afterAll(async () => {
    await pg?.end().catch(() => undefined);
    await rpc?.onModuleDestroy().catch(() => undefined);
    await app?.close().catch(() => undefined);
    await inventory?.close().catch(() => undefined);
    await testDb?.drop().catch(() => undefined);
    await storage?.close();
  });

  async function outboxTypes(artifactId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
    const r = await pg.query<{ payload: { type: string; data: Record<string, unknown> } }>(
      `SELECT payload FROM artifacts.outbox WHERE payload->'subject'->>'entity_id' = $1 ORDER BY seq`,
      [artifactId],
    );
    return r.rows.map((x) => x.payload);
  }

  describe('internal identity', () => {
    it('refuses body routes without a valid token for that exact route', async () => {
      const host = await createHost();
      const path = ArtifactsInternalPaths.upload(host);
      await request(url).post(path).field('kind', 'log').attach('file', Buffer.from('x'), 'x.log').expect(401);
      await request(url).post(path).set('Authorization', 'Internal forged.token').field('kind', 'log').attach('file', Buffer.from('x'), 'x.log').expect(401);
      // minted for another path: cannot be replayed here
      await request(url).post(path).set('Authorization', internal('POST', ArtifactsInternalPaths.upload(await createHost()))).field('kind', 'log').attach('file', Buffer.from('x'), 'x.log').expect(401);
      await uploadReq(host, [['kind', 'log']], { name: 'x.log', content: Buffer.from('x') }, true, 'viewer').expect(403);
    });

    it('accepts each token once: a replayed upload or download token is refused and stores nothing', async () => {
      const host = await createHost();
      const path = ArtifactsInternalPaths.upload(host);
      const token = internal('POST', path);
      const up = await request(url).post(path).set('Authorization', token).field('kind', 'log').attach('file', Buffer.from('once'), 'once.log').expect(201);
      const replay = await request(url).post(path).set('Authorization', token).field('kind', 'log').attach('file', Buffer.from('twice'), 'twice.log').expect(401);
      expect(replay.body).toMatchObject({ status: 401, detail: 'Internal route: this internal token was already used' });
      const rows = await pg.query(`SELECT original_name FROM artifacts.artifacts WHERE host_id = $1`, [host]);
      expect(rows.rows).toEqual([{ original_name: 'once.log' }]);

      const dpath = ArtifactsInternalPaths.download(up.body.id as string);
      const dtoken = internal('GET', dpath, 'auditor');
      const first = await request(url).get(dpath).set('Authorization', dtoken).buffer(true).parse(rawBody).expect(200);
      expect((first.body as Buffer).toString()).toBe('once');
      await request(url).get(dpath).set('Authorization', dtoken).expect(401);
      // a fresh token for the same request is fine
      await downloadReq(up.body.id as string).expect(200);
    });
  });

  describe('upload and download on the internal port', () => {
    it('streams, hashes, detects, records events; downloads with ranges and conditionals', async () => {
      const host = await createHost();
      const content = Buffer.concat([Buffer.from('%PDF-1.7\n'), randomBytes(200_000)]);
      const up = await uploadReq(host, [['kind', 'crash_dump'], ['description', 'd']], { name: 'dump.pdf', content }, false).expect(201);
      expect(up.body).toMatchObject({ host_id: host, size: content.length, sha256: sha(content), content_type: 'application/pdf', kind: 'crash_dump', uploaded_by: principal('operator').user_id });
      const id = up.body.id as string;

      const full = await downloadReq(id).expect(200);
      expect(sha(full.body as Buffer)).toBe(sha(content));
      expect(full.headers['content-disposition']).toBe(`attachment; filename=dump.pdf`);
      await downloadReq(id, { Range: 'bytes=0-8' }).expect(206).expect('Content-Range', `bytes 0-8/${content.length}`);
      const unsat = await downloadReq(id, { Range: 'bytes=999999999-' }).expect(416);
      expect(unsat.headers['content-range']).toBe(`bytes */${content.length}`);
      await downloadReq(id, { 'If-None-Match': `W/"${sha(content)}"` }).expect(304);
      await downloadReq(id, { Range: 'bytes=0-8', 'If-Range': '"stale"' }).expect(200);
      await downloadReq(id, {}, 'viewer').expect(403);

      const list = await rpc.call(ArtifactsRpc.LIST, { host_id: host }, ctx);
      expect(list.items.map((a) => a.id)).toEqual([id]);
      const v = await rpc.call(ArtifactsRpc.VERIFY, { id }, ctx);
      expect(v.ok).toBe(true);

      const events = await waitFor(async () => {
        const e = await outboxTypes(id);
        return e.length >= 5 ? e : null;
      });
      expect(events.map((e) => e.type)).toEqual([
        'artifacts.artifact.uploaded',
        'artifacts.artifact.downloaded',
        'artifacts.artifact.downloaded',
        'artifacts.artifact.downloaded',
        'artifacts.artifact.verified',
      ]);
      expect(events[2].data).toMatchObject({ range: { start: 0, end: 8 }, bytes: 9, sha256: sha(content) });
    });

    it('a whole-file download of a blob that went bad is cut short, flagged, and refused afterwards', async () => {
      const host = await createHost();
      // larger than the one chunk the download holds back: the first bytes are on the wire before the hash is known
      const content = randomBytes(900_000);
      const up = await uploadReq(host, [['kind', 'other']], { name: 'b.bin', content }).expect(201);
      const bad = Buffer.from(content);
      bad[bad.length - 5] ^= 0x01;
      await storage.writeBlob(up.body.sha256, bad);
      const res = await downloadReq(up.body.id).then(
        (r) => `a complete ${r.status} response of ${(r.body as Buffer).length} bytes`,
        (err: Error) => `cut (${err.message})`,
      );
      // never a complete body with the wrong content: the length was promised up front, so the stream is cut and the
      // client sees an aborted response
      expect(res).toMatch(/^cut \((aborted|socket hang up|.*ECONNRESET)/);
      await waitFor(async () => (await downloadReq(up.body.id)).status === 409, { what: 'the corrupt blob to be refused' });
      const events = await outboxTypes(up.body.id);
      expect(events.find((e) => e.type === 'artifacts.artifact.verified')?.data).toMatchObject({ ok: false, trigger: 'download', expected_sha256: up.body.sha256, actual_sha256: sha(bad) });
    });

    it('a corrupt blob small enough to check before sending is a 409 on the first download, never a 500', async () => {
      const host = await createHost();
      const content = randomBytes(200_000);
      const up = await uploadReq(host, [['kind', 'other']], { name: 's.bin', content }).expect(201);
      const bad = Buffer.from(content);
      bad[10] ^= 0x01;
      await storage.writeBlob(up.body.sha256, bad);
      const res = await downloadReq(up.body.id);
      expect({ status: res.status, code: JSON.parse((res.body as Buffer).toString()).code }).toEqual({ status: 409, code: 'ARTIFACTS.INTEGRITY_CONFLICT' });
      const events = await outboxTypes(up.body.id);
      expect(events.map((e) => e.type)).not.toContain('artifacts.artifact.downloaded');
      expect(events.find((e) => e.type === 'artifacts.artifact.verified')?.data).toMatchObject({ ok: false, trigger: 'download', actual_sha256: sha(bad) });
    });

    it('413 one byte over the limit with nothing left behind', async () => {
      const host = await createHost();
      const res = await uploadReq(host, [['kind', 'log']], { name: 'big.log', content: Buffer.alloc(1024 * 1024 + 1, 0x61) });
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('ARTIFACTS.TOO_LARGE');
      expect(await storage.tempNames()).toEqual([]);
      expect(await storage.hasBlob(sha(Buffer.alloc(1024 * 1024 + 1, 0x61)))).toBe(false);
      const n = await pg.query(`SELECT count(*)::int AS n FROM artifacts.artifacts WHERE host_id = $1`, [host]);
      expect(n.rows[0].n).toBe(0);
    });

    it('unknown host 404 before reading the body; host deletion removes artifacts exactly once', async () => {
      await uploadReq('00000000-0000-4000-8000-000000000001', [['kind', 'log']], { name: 'x', content: Buffer.from('x') }).expect(404);
      const host = await createHost();
      const content = Buffer.from(`host-scoped ${randomBytes(6).toString('hex')}`);
      const up = await uploadReq(host, [['kind', 'log']], { name: 'h.log', content }).expect(201);
      await rpc.call(InventoryRpc.HOSTS_DELETE, { id: host }, ctx);
      await waitFor(async () => (await rpc.call(ArtifactsRpc.LIST, { host_id: host }, ctx)).items.length === 0, {
        timeoutMs: 15_000,
        what: 'host artifacts to be removed',
      });
      await waitFor(async () => !(await storage.hasBlob(up.body.sha256)), { what: 'blob to be collected' });
      const deleted = (await outboxTypes(up.body.id)).filter((e) => e.type === 'artifacts.artifact.deleted');
      expect(deleted).toHaveLength(1);
      expect(deleted[0].data).toMatchObject({ reason: 'host_deleted', sha256: up.body.sha256 });
      await uploadReq(host, [['kind', 'log']], { name: 'late', content }).expect(404);
    });
  });
  describe('orphan sweep against a commit in progress', () => {
    it('waits for the address lock of an upload that wrote its object but has not committed, and keeps it; removes a true orphan', async () => {
      const content = Buffer.from(`mid-commit ${randomBytes(6).toString('hex')}`);
      const h = sha(content);
      const lone = Buffer.from(`orphan ${randomBytes(6).toString('hex')}`);
      // an upload between writing its object and committing its row (it holds the address lock, as recordUpload does)
      await storage.writeBlob(h, content);
      await storage.writeBlob(sha(lone), lone);
      const upload = new Client({ connectionString: testDb.url });
      await upload.connect();
      try {
        await upload.query('BEGIN');
        await upload.query(BLOB_LOCK_SQL, [BLOB_LOCK_CLASS, h]);
        // both objects look older than the grace period to this sweep
        clockSkewMs = (GRACE_SECONDS + 60) * 1000;
        const sweeping = app.get(BlobCollector).sweep();
        await waitFor(
          async () =>
            (
              await pg.query<{ n: number }>(
                `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
                [BLOB_LOCK_CLASS],
              )
            ).rows[0].n === 1,
          { what: 'the sweep to wait for the address lock' },
        );
        await upload.query(`INSERT INTO artifacts.blobs (sha256, size, ref_count) VALUES ($1, $2, 1)`, [h, content.length]);
        await upload.query('COMMIT');
        const swept = await sweeping;
        expect(await storage.hasBlob(h)).toBe(true);
        expect(await storage.hasBlob(sha(lone))).toBe(false);
        expect(swept.orphans).toBe(1);
      } finally {
        clockSkewMs = 0;
        await upload.end();
      }
      // the committed content is served and verifies through the normal paths once an artifact refers to it
      const host = await createHost();
      const up = await uploadReq(host, [['kind', 'log']], { name: 'mid.log', content }).expect(201);
      expect((await downloadReq(up.body.id).expect(200)).body).toEqual(content);
      expect((await rpc.call(ArtifactsRpc.VERIFY, { id: up.body.id }, ctx)).ok).toBe(true);
    });
  });
});
