import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { ContextSigner, InternalTokenIssuer, type Principal } from '@opsdesk/authn';
import { ArtifactsInternalPaths } from '@opsdesk/contracts';
import { freePort, natsServiceEnv, rawBody, serviceEnv } from '@opsdesk/testing';
import {
  ADMIN_EMAIL,
  ADMIN_PASSWORD,
  bearer,
  login,
  migrate,
  startStack,
  waitFor,
  type Stack,
} from './support/stack';

/**
 * Two artifacts replicas (real processes, from dist/) sharing one storage and one database, once per storage
 * driver (fs: one directory; s3: one bucket on s3rver). Uploads go through both; replica A is killed with
 * SIGKILL in the middle of an upload while B has one in flight too; A comes back and sweeps. Nothing that
 * should live may be lost: B's upload in progress completes, every completed artifact downloads from both
 * replicas with its SHA-256, and storage ends with exactly the blobs the database references.
 */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the artifacts test harness is found by convention, like the services
const harness = require(join(__dirname, '..', 'services', 'artifacts', 'test', 'support', 'storage-harness')) as typeof import('../services/artifacts/test/support/storage-harness');
type StorageHarness = Awaited<ReturnType<typeof harness.startStorage>>;

const MAIN = join(__dirname, '..', 'dist', 'services', 'artifacts', 'src', 'main.js');
// short, so the scenario outlives it: B's stalled upload is older than the grace period while A sweeps
const GRACE_SECONDS = 3;
const MB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Replica {
  name: string;
  url: string;
  child: ChildProcess;
}

describe.each(harness.STORAGE_DRIVERS)('two artifacts replicas sharing %s storage', (driver) => {
  let storage: StorageHarness;
  let stack: Stack;
  let db: Client;
  let tokens: InternalTokenIssuer;
  let host: string;
  const replicas: Replica[] = [];

  const principal: Principal = {
    kind: 'jwt',
    user_id: '22222222-2222-4222-8222-222222222222',
    email: 'operator@replicas.test',
    role: 'operator',
  };
  const internal = (method: string, path: string) =>
    `Internal ${tokens.sign({ principal, actor: { user_id: principal.user_id, email: principal.email ?? null, ip: '127.0.0.1', user_agent: 'replicas-e2e' }, request_id: `rep-${randomBytes(4).toString('hex')}`, aud: 'artifacts', method, path })}`;

  async function startReplica(name: string, port?: number): Promise<Replica> {
    const p = port ?? (await freePort());
    const child = spawn(process.execPath, [MAIN], {
      // each replica: its own database and NATS logins (SPEC §7), its own instance id, the shared storage
      env: {
        ...serviceEnv(stack, 'artifacts'),
        ...natsServiceEnv('artifacts'),
        ARTIFACTS_PORT: String(p),
        ARTIFACT_INSTANCE_ID: name,
        LOG_LEVEL: 'error',
      },
      stdio: 'ignore',
    });
    const r = { name, url: `http://127.0.0.1:${p}`, child };
    replicas.push(r);
    await waitFor(async () => (await fetch(`${r.url}/readyz`).catch(() => null))?.ok, {
      timeoutMs: 60_000,
      what: `${name} ready`,
    });
    return r;
  }

  async function kill(r: Replica): Promise<void> {
    if (r.child.exitCode !== null || r.child.signalCode !== null) return;
    const exited = new Promise((res) => r.child.once('exit', res));
    r.child.kill('SIGKILL');
    await exited;
  }

  function upload(r: Replica, name: string, content: Buffer) {
    const path = ArtifactsInternalPaths.upload(host);
    return request(r.url)
      .post(path)
      .set('Authorization', internal('POST', path))
      .field('kind', 'support_bundle')
      .attach('file', content, name);
  }

  function download(r: Replica, id: string, headers: Record<string, string> = {}) {
    const path = ArtifactsInternalPaths.download(id);
    return request(r.url)
      .get(path)
      .set('Authorization', internal('GET', path))
      .set(headers)
      .buffer(true)
      .parse(rawBody);
  }

  /** Sends the form and the first `sent` bytes of `content`, then stalls until resume() sends the rest. */
  function stalledUpload(r: Replica, name: string, content: Buffer, sent: number) {
    const boundary = `rep${randomBytes(6).toString('hex')}`;
    const head = Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nsupport_bundle\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\n\r\n`,
    );
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    const path = ArtifactsInternalPaths.upload(host);
    const req = httpRequest(`${r.url}${path}`, {
      method: 'POST',
      headers: {
        Authorization: internal('POST', path),
        'Content-Type': `multipart/form-data; boundary=${boundary}`,
        'Content-Length': String(head.length + content.length + tail.length),
      },
    });
    const outcome = new Promise<{ status: number; body: string } | string>((resolve) => {
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      });
      req.on('error', (err) => resolve(err.message));
    });
    req.write(head);
    req.write(content.subarray(0, sent));
    return {
      outcome,
      resume: () => req.end(Buffer.concat([content.subarray(sent), tail])),
      cancel: () => req.destroy(),
    };
  }

  const tempsOf = async (instance: string) =>
    (await storage.tempNames()).filter((n) => n.startsWith(`${instance}~`));
  const sweeps = (r: Replica) => harness.metricValue(r.url, 'opsdesk_artifact_storage_sweeps_total');

  beforeAll(async () => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` first (npm test does)`);
    storage = await harness.startStorage(driver, `artreplicas-${driver}`);
    stack = await startStack(`artreplicas${driver}`, {
      services: ['auth', 'inventory'],
      env: {
        ...storage.env,
        MAX_ARTIFACT_SIZE_MB: '32',
        ARTIFACT_MIN_FREE_MB: '0',
        ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: '10',
        ARTIFACT_ORPHAN_GRACE_SECONDS: String(GRACE_SECONDS),
        ARTIFACT_GC_INTERVAL_SECONDS: '2',
      },
    });
    await migrate(stack.logins.urls.migrator, ['artifacts']);
    db = new Client({ connectionString: stack.db.url });
    await db.connect();
    tokens = new InternalTokenIssuer(
      new ContextSigner('gateway', stack.env.GATEWAY_CONTEXT_PRIVATE_KEY as string),
    );
    const admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
    const h = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(admin))
      .send({ hostname: `replicas-${driver}`, ip: '10.66.0.1', environment: 'dev' })
      .expect(201);
    host = h.body.id as string;
  }, 180_000);

  afterAll(async () => {
    for (const r of replicas) await kill(r).catch(() => undefined);
    await db?.end().catch(() => undefined);
    await stack?.stop();
    await storage?.close();
  });

  // two processes and ~100 MB moved on a shared 2-core machine: minutes under load, not the default 60 s
  it('uploads through both, SIGKILL of one mid-upload: nothing that should live is lost or deleted', async () => {
    const a = await startReplica('replica-a');
    const b = await startReplica('replica-b');

    // completed uploads through both replicas; 20 MB is a multipart upload for s3 (8 MB parts); one content twice
    const shared = randomBytes(300_000);
    const files: Array<{ name: string; content: Buffer; via: Replica }> = [
      { name: 'a-small.bin', content: randomBytes(200_000), via: a },
      { name: 'b-large.bin', content: randomBytes(20 * MB), via: b },
      { name: 'a-large.bin', content: randomBytes(9 * MB + 123), via: a },
      { name: 'a-shared.bin', content: shared, via: a },
      { name: 'b-shared.bin', content: shared, via: b },
    ];
    const done: Array<{ id: string; content: Buffer }> = [];
    for (const f of files) {
      const res = await upload(f.via, f.name, f.content).expect(201);
      expect(res.body).toMatchObject({ size: f.content.length, sha256: sha(f.content) });
      done.push({ id: res.body.id as string, content: f.content });
    }

    // one upload in flight on each replica: 12 MB of 20 sent (for s3 one 8 MB part is already in the bucket)
    const bContent = randomBytes(20 * MB);
    const aStall = stalledUpload(a, 'a-killed.bin', randomBytes(20 * MB), 12 * MB);
    const bStall = stalledUpload(b, 'b-survives.bin', bContent, 12 * MB);
    const stalledAt = Date.now();
    await waitFor(
      async () =>
        (await harness.uploadsInProgress(a.url)) >= 1 && (await harness.uploadsInProgress(b.url)) >= 1,
      { what: 'both uploads in flight' },
    );
    if (driver === 'fs')
      await waitFor(
        async () => (await tempsOf('replica-a')).length === 1 && (await tempsOf('replica-b')).length === 1,
        { what: 'both temp files' },
      );

    await kill(a);
    // no answer at all: the connection died with the process
    expect(await aStall.outcome).toMatch(/ECONNRESET|socket hang up|aborted/);
    aStall.cancel();

    // A comes back on its port (same instance id) and sweeps at start, then every grace period
    const a2 = await startReplica('replica-a', Number(new URL(a.url).port));
    // what the killed process left is gone at once: its writer is provably dead
    expect(await tempsOf('replica-a')).toEqual([]);
    // let B's stalled upload grow older than the grace period while A's sweeps (and B's own) keep running
    const sweepsAtStart = await sweeps(a2);
    await waitFor(
      async () =>
        Date.now() - stalledAt > 2 * GRACE_SECONDS * 1000 && (await sweeps(a2)) >= sweepsAtStart + 2,
      {
        timeoutMs: 60_000,
        what: "two of A's periodic sweeps after B's upload outlived the grace period",
      },
    );
    // B's upload in progress is untouched: its temp is refreshed by B's heartbeat (fs); an S3 upload in progress is not an object
    if (driver === 'fs') expect(await tempsOf('replica-b')).toHaveLength(1);

    bStall.resume();
    const bRes = await bStall.outcome;
    expect(
      typeof bRes === 'string'
        ? bRes
        : { status: bRes.status, sha256: (JSON.parse(bRes.body) as { sha256: string }).sha256 },
    ).toEqual({ status: 201, sha256: sha(bContent) });
    done.push({ id: (JSON.parse((bRes as { body: string }).body) as { id: string }).id, content: bContent });

    // every completed artifact downloads from both replicas with its SHA-256 (whole, and a range)
    for (const d of done) {
      for (const r of [a2, b]) {
        const full = await download(r, d.id).expect(200);
        expect(sha(full.body as Buffer)).toBe(sha(d.content));
        const part = await download(r, d.id, { Range: 'bytes=1000-1999' }).expect(206);
        expect(Buffer.compare(part.body as Buffer, d.content.subarray(1000, 2000))).toBe(0);
      }
    }

    // storage holds exactly the referenced blobs, and no temp is left once nothing is in flight
    const rows = (
      await db.query<{ sha256: string }>(
        `SELECT sha256 FROM artifacts.blobs WHERE ref_count > 0 ORDER BY sha256`,
      )
    ).rows.map((r) => r.sha256);
    expect(rows).toEqual([...new Set(done.map((d) => sha(d.content)))].sort());
    expect((await storage.blobNames()).sort()).toEqual(rows);
    await waitFor(async () => (await storage.tempNames()).length === 0, { what: 'no temp uploads left' });
    const artifacts = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM artifacts.artifacts`);
    expect(artifacts.rows[0].n).toBe(done.length);
  }, 300_000);
});
