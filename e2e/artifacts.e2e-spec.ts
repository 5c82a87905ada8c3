import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { parse as parseContentDisposition } from 'content-disposition';
import { Client } from 'pg';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, startStack, waitFor, type Stack } from './support/stack';
import { natsServiceEnv, rawBody, serviceEnv } from '@opsdesk/testing';

/**
 * Artifacts end to end through the real gateway: auth, inventory (hosts), audit (when present) and
 * artifacts booted in-process on this suite's own database, NATS stream and storage — once per storage
 * driver: fs (a temp directory) and s3 (s3rver on 127.0.0.1, spoken to through the AWS SDK over HTTP).
 */
const WITH_AUDIT = existsSync(join(__dirname, '..', 'services', 'audit', 'src', 'bootstrap.ts'));
const LIMIT = 1024 * 1024; // MAX_ARTIFACT_SIZE_MB=1
const INSTANCE = 'e2e-artifacts';
const GRACE_SECONDS = 3600;
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the artifacts test harness is found by convention, like the services
const harness = require(join(__dirname, '..', 'services', 'artifacts', 'test', 'support', 'storage-harness')) as typeof import('../services/artifacts/test/support/storage-harness');
type StorageHarness = Awaited<ReturnType<typeof harness.startStorage>>;

let stack: Stack;
let storage: StorageHarness;
let db: Client;
let admin: string;
let operator: { id: string; token: string };
let auditor: { id: string; token: string };
let viewer: { id: string; token: string };

describe.each(harness.STORAGE_DRIVERS)('artifacts with %s storage', (driver) => {
  beforeAll(async () => {
    storage = await harness.startStorage(driver, `artifactse2e-${driver}`);
    stack = await startStack(`artifactse2e${driver}`, {
      services: ['auth', 'inventory', ...(WITH_AUDIT ? ['audit'] : []), 'artifacts'],
      env: { MAX_ARTIFACT_SIZE_MB: '1', ...storage.env, ARTIFACT_INSTANCE_ID: INSTANCE, ARTIFACT_ORPHAN_GRACE_SECONDS: String(GRACE_SECONDS), RATE_LIMIT_API_PER_MINUTE: '100000' },
    });
    db = new Client({ connectionString: stack.db.url });
    await db.connect();
    admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
    operator = await createUser(stack.url, admin, 'operator@artifacts.test', 'operator');
    auditor = await createUser(stack.url, admin, 'auditor@artifacts.test', 'auditor');
    viewer = await createUser(stack.url, admin, 'viewer@artifacts.test', 'viewer');
  }, 120_000);

  afterAll(async () => {
    await db?.end().catch(() => undefined);
    await stack?.stop();
    await storage?.close();
  });

  // ---------- helpers ----------

  let hostSeq = 0;
  async function createHost(): Promise<string> {
    hostSeq++;
    const res = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(admin))
      .send({ hostname: `art-${hostSeq}-${randomBytes(3).toString('hex')}`, ip: `10.77.${hostSeq}.${(hostSeq % 250) + 1}`, environment: 'dev' });
    if (res.status !== 201) throw new Error(`create host: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.id as string;
  }

  type Part = { name: string; value: string } | { name: string; filename: string; content: Buffer; contentType?: string };

  /** A multipart body built by hand, so the field order and the raw file name are exactly what the test says. */
  function multipart(parts: Part[]): { body: Buffer; contentType: string } {
    const boundary = `----opsdesk${randomBytes(8).toString('hex')}`;
    const chunks: Buffer[] = [];
    for (const p of parts) {
      chunks.push(Buffer.from(`--${boundary}\r\n`));
      if ('filename' in p) {
        // filename* (RFC 5987) carries any character, including NUL and U+202E, byte-exactly
        const star = encodeURIComponent(p.filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
        chunks.push(
          Buffer.from(`Content-Disposition: form-data; name="${p.name}"; filename="upload.bin"; filename*=UTF-8''${star}\r\nContent-Type: ${p.contentType ?? 'text/html'}\r\n\r\n`),
        );
        chunks.push(p.content, Buffer.from('\r\n'));
      } else {
        chunks.push(Buffer.from(`Content-Disposition: form-data; name="${p.name}"\r\n\r\n${p.value}\r\n`));
      }
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
  }

  function upload(token: string, hostId: string, parts: Part[]) {
    const { body, contentType } = multipart(parts);
    return request(stack.url).post(`/api/hosts/${hostId}/artifacts`).set(bearer(token)).set('Content-Type', contentType).send(body);
  }

  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

  function download(token: string, id: string, headers: Record<string, string> = {}) {
    return request(stack.url)
      .get(`/api/artifacts/${id}/download`)
      .set(bearer(token))
      .set(headers)
      .buffer(true)
      .parse(rawBody);
  }

  const blobFiles = () => storage.blobNames();
  const tempFiles = () => storage.tempNames();
  async function rowCount(sql: string, params: unknown[] = []): Promise<number> {
    const r = await db.query<{ n: string }>(sql, params);
    return Number(r.rows[0].n);
  }

  // ---------- tests ----------

  describe('upload, list, download, verify', () => {
    it('round-trips bytes with the right sha256; Range, If-None-Match, verify; a corrupted blob is reported and refused', async () => {
      const host = await createHost();
      const content = Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), randomBytes(300_000)]);
      // kind and description after the file part
      const up = await upload(operator.token, host, [
        { name: 'file', filename: 'support-bundle.tar.gz', content, contentType: 'text/html' },
        { name: 'kind', value: 'support_bundle' },
        { name: 'description', value: 'after the incident' },
      ]);
      expect(up.status).toBe(201);
      const art = up.body;
      expect(art).toMatchObject({
        host_id: host,
        original_name: 'support-bundle.tar.gz',
        filename: 'support-bundle.tar.gz',
        kind: 'support_bundle',
        description: 'after the incident',
        size: content.length,
        sha256: sha(content),
        content_type: 'application/gzip', // magic bytes, not the client's text/html
        uploaded_by: operator.id,
      });

      const list = await request(stack.url).get(`/api/hosts/${host}/artifacts`).set(bearer(viewer.token)).expect(200);
      expect(list.body.items.map((a: { id: string }) => a.id)).toEqual([art.id]);
      const global = await request(stack.url).get('/api/artifacts').query({ host_id: host, kind: 'support_bundle', uploaded_by: operator.id }).set(bearer(auditor.token)).expect(200);
      expect(global.body.items).toHaveLength(1);
      await request(stack.url).get(`/api/artifacts/${art.id}`).set(bearer(viewer.token)).expect(200);

      const full = await download(operator.token, art.id).expect(200);
      expect(Buffer.compare(full.body as Buffer, content)).toBe(0);
      expect(sha(full.body as Buffer)).toBe(art.sha256);
      expect(full.headers['etag']).toBe(`"${art.sha256}"`);
      expect(full.headers['content-disposition']).toMatch(/^attachment;/);
      expect(full.headers['x-content-type-options']).toBe('nosniff');
      expect(full.headers['content-type']).toBe('application/gzip');

      const part = await download(operator.token, art.id, { Range: 'bytes=100-199' }).expect(206);
      expect(part.headers['content-range']).toBe(`bytes 100-199/${content.length}`);
      expect(Buffer.compare(part.body as Buffer, content.subarray(100, 200))).toBe(0);
      const tail = await download(operator.token, art.id, { Range: 'bytes=-10' }).expect(206);
      expect(Buffer.compare(tail.body as Buffer, content.subarray(content.length - 10))).toBe(0);
      const unsatisfiable = await download(operator.token, art.id, { Range: `bytes=${content.length}-` }).expect(416);
      expect(unsatisfiable.headers['content-range']).toBe(`bytes */${content.length}`);
      await download(operator.token, art.id, { 'If-None-Match': `"${art.sha256}"` }).expect(304);

      const ok = await request(stack.url).post(`/api/artifacts/${art.id}/verify`).set(bearer(auditor.token)).expect(200);
      expect(ok.body).toMatchObject({ ok: true, expected_sha256: art.sha256, actual_sha256: art.sha256 });

      // corrupt the stored blob in storage: one flipped byte
      const bytes = Buffer.from(content);
      bytes[1234] ^= 0xff;
      await storage.writeBlob(art.sha256, bytes);
      const bad = await request(stack.url).post(`/api/artifacts/${art.id}/verify`).set(bearer(auditor.token)).expect(200);
      expect(bad.body).toMatchObject({ ok: false, expected_sha256: art.sha256, actual_sha256: sha(bytes) });
      // never served as good once known corrupt
      const refused = await download(operator.token, art.id).expect(409);
      expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
      const meta = await request(stack.url).get(`/api/artifacts/${art.id}`).set(bearer(viewer.token)).expect(200);
      expect(meta.body.last_verify_ok).toBe(false);

      // uploading the same content again re-supplies the blob: served and verified again
      await upload(operator.token, host, [
        { name: 'kind', value: 'support_bundle' },
        { name: 'file', filename: 'again.tar.gz', content },
      ]).expect(201);
      const healed = await download(auditor.token, art.id).expect(200);
      expect(sha(healed.body as Buffer)).toBe(art.sha256);
      expect((await blobFiles()).filter((f) => f === art.sha256)).toHaveLength(1);
    });

    it('stores identical content once and keeps it until the last artifact referring to it is deleted', async () => {
      const host = await createHost();
      const content = Buffer.from(`same bytes ${randomBytes(8).toString('hex')}\n`);
      const a = (await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'a.log', content }]).expect(201)).body;
      const b = (await upload(admin, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'b.log', content }]).expect(201)).body;
      expect(a.sha256).toBe(b.sha256);
      expect(a.content_type).toBe('text/plain; charset=utf-8');
      expect((await blobFiles()).filter((f) => f === a.sha256)).toHaveLength(1);
      await request(stack.url).delete(`/api/artifacts/${a.id}`).set(bearer(operator.token)).expect(204);
      await request(stack.url).get(`/api/artifacts/${a.id}`).set(bearer(viewer.token)).expect(404);
      expect(await storage.hasBlob(a.sha256)).toBe(true);
      await download(operator.token, b.id).expect(200);
      await request(stack.url).delete(`/api/artifacts/${b.id}`).set(bearer(admin)).expect(204);
      // file and row go in the collector's transaction: wait for its commit
      await waitFor(async () => !(await storage.hasBlob(a.sha256)) && (await rowCount(`SELECT count(*) AS n FROM artifacts.blobs WHERE sha256 = $1`, [a.sha256])) === 0, {
        what: 'the unreferenced blob (file and row) to be collected',
      });
    });

    it('pages the global list with a keyset cursor', async () => {
      const host = await createHost();
      for (let i = 0; i < 3; i++) await upload(operator.token, host, [{ name: 'kind', value: 'config' }, { name: 'file', filename: `c${i}.conf`, content: Buffer.from(`k=${i}\n`) }]).expect(201);
      const p1 = await request(stack.url).get('/api/artifacts').query({ host_id: host, limit: 2 }).set(bearer(viewer.token)).expect(200);
      expect(p1.body.items).toHaveLength(2);
      expect(p1.body.next_cursor).toBeTruthy();
      const p2 = await request(stack.url).get('/api/artifacts').query({ host_id: host, limit: 2, cursor: p1.body.next_cursor }).set(bearer(viewer.token)).expect(200);
      expect(p2.body.items).toHaveLength(1);
      expect(p2.body.next_cursor).toBeNull();
      const names = [...p1.body.items, ...p2.body.items].map((a: { original_name: string }) => a.original_name);
      expect(names).toEqual(['c2.conf', 'c1.conf', 'c0.conf']);
    });

    it('refuses an unknown host with 404 and a bad kind with 400, leaving nothing behind', async () => {
      const before = (await blobFiles()).length;
      const nope = await upload(operator.token, '00000000-0000-4000-8000-000000000000', [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'x.log', content: Buffer.from('x') }]);
      expect(nope.status).toBe(404);
      const host = await createHost();
      const bad = await upload(operator.token, host, [{ name: 'file', filename: 'x.log', content: Buffer.from('unique-bad-kind') }, { name: 'kind', value: 'movie' }]);
      expect(bad.status).toBe(400);
      const missing = await upload(operator.token, host, [{ name: 'kind', value: 'log' }]);
      expect(missing.status).toBe(400);
      expect((await blobFiles()).length).toBe(before);
      expect(await tempFiles()).toEqual([]);
    });
  });

  describe('size limit', () => {
    it('a file one byte over the limit is 413: nothing in storage or temp, no metadata row', async () => {
      const host = await createHost();
      const blobsBefore = (await blobFiles()).length;
      const res = await upload(operator.token, host, [{ name: 'kind', value: 'crash_dump' }, { name: 'file', filename: 'core', content: randomBytes(LIMIT + 1) }]);
      expect(res.status).toBe(413);
      expect(res.body.code).toBe('ARTIFACTS.TOO_LARGE');
      expect(await tempFiles()).toEqual([]);
      expect((await blobFiles()).length).toBe(blobsBefore);
      expect(await rowCount(`SELECT count(*) AS n FROM artifacts.artifacts WHERE host_id = $1`, [host])).toBe(0);
      // exactly at the limit is fine
      await upload(operator.token, host, [{ name: 'kind', value: 'crash_dump' }, { name: 'file', filename: 'core', content: randomBytes(LIMIT) }]).expect(201);
    });

    it.each([
      ['413 while streaming', 'too-large', false],
      ['a field too long before the file', 'long-field', false],
      // a client that does not close its side when the gateway closes its own: cut after the linger time
      ['413 while streaming, half-open client', 'too-large', true],
    ])('an upload refused (%s) while its body still comes is answered, then its connection closed', async (_what, how, allowHalfOpen) => {
      // the client declares 8 MB, sends 3 and then neither finishes nor closes: the refusal must reach it, and the
      // gateway must neither keep relaying nor keep the socket (it once stayed open, unread, for 5 minutes)
      const host = await createHost();
      const boundary = `----refused${randomBytes(6).toString('hex')}`;
      const description = how === 'long-field' ? 'd'.repeat(17 * 1024) : 'ok';
      const head = Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlog\r\n--${boundary}\r\nContent-Disposition: form-data; name="description"\r\n\r\n${description}\r\n` +
          `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n\r\n`,
      );
      const url = new URL(stack.url);
      const socket = connect({ port: Number(url.port), host: url.hostname, allowHalfOpen });
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
      socket.on('error', () => undefined);
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `POST /api/hosts/${host}/artifacts HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${operator.token}\r\n` +
          `Content-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: ${head.length + 8 * LIMIT}\r\n\r\n`,
      );
      socket.write(head);
      for (let i = 0; i < 3 && !socket.destroyed; i++) await new Promise<void>((resolve) => socket.write(randomBytes(LIMIT), () => resolve()));
      const answer = await waitFor(() => {
        const text = Buffer.concat(received).toString('latin1');
        return /\r\n\r\n\{[\s\S]*\}$/.test(text) ? text : null;
      }, { timeoutMs: 15_000, what: 'the refusal' });
      expect(answer).toMatch(how === 'too-large' ? /^HTTP\/1\.1 413 / : /^HTTP\/1\.1 400 /);
      expect(answer).toContain(how === 'too-large' ? 'ARTIFACTS.TOO_LARGE' : 'description is too long');
      // closed by the gateway at the end of its linger time (5 s after the answer: time to read the answer before a
      // reset), though this client never finishes its body nor closes; the half-open client goes on sending a
      // little: read and dropped until then
      await waitFor(
        async () => {
          if (allowHalfOpen && !socket.destroyed) socket.write(randomBytes(1024));
          return Promise.race([closed.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 300))]);
        },
        { timeoutMs: 15_000, what: 'the gateway closing the refused connection' },
      );
      expect(await tempFiles()).toEqual([]);
      expect(await rowCount(`SELECT count(*) AS n FROM artifacts.artifacts WHERE host_id = $1`, [host])).toBe(0);
    });
  });

  describe('hostile file names', () => {
    const names: Array<[string, string]> = [
      ['../../etc/passwd', 'passwd'],
      ['a\u0000b', 'ab'],
      [`${'n'.repeat(300)}.log`, `${'n'.repeat(196)}.log`],
      ['invoice\u202Etxt.exe', 'invoicetxt.exe'],
      ['.htaccess', '_htaccess'],
    ];

    it.each(names)('%j is stored for display and served under a safe attachment name', async (name, safe) => {
      const host = await createHost();
      const content = Buffer.from(`payload for ${JSON.stringify(name)}\n`);
      const up = await upload(operator.token, host, [{ name: 'kind', value: 'other' }, { name: 'file', filename: name, content }]).expect(201);
      expect(up.body.filename).toBe(safe);
      expect(up.body.original_name).toBe(name.replace(/\u0000/g, '\ufffd'));
      const dl = await download(auditor.token, up.body.id).expect(200);
      expect(Buffer.compare(dl.body as Buffer, content)).toBe(0);
      const cd = dl.headers['content-disposition'] as string;
      expect(cd.startsWith('attachment;')).toBe(true);
      expect(cd).not.toMatch(/[\u0000-\u001f\u007f\u202e]/);
      expect(cd).not.toContain('/');
      expect(parseContentDisposition(cd).parameters.filename).toBe(safe);
      // client names never become paths: storage holds only blobs/ (and tmp/), blobs named by sha256
      const names = await storage.allNames();
      expect(names.filter((n) => !/^(blobs\/|tmp\/|blobs\/[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f]{64})$/.test(n))).toEqual([]);
      expect(names.filter((n) => /^blobs\/../.test(n))).not.toEqual([]);
      expect((await blobFiles()).every((f) => /^[0-9a-f]{64}$/.test(f))).toBe(true);
    });
  });

  describe('roles', () => {
    it('viewer cannot upload or download (403); auditor can download but not upload or delete', async () => {
      const host = await createHost();
      const content = Buffer.from('role test\n');
      const art = (await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'r.log', content }]).expect(201)).body;
      await upload(viewer.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'v.log', content }]).expect(403);
      await download(viewer.token, art.id).expect(403);
      await request(stack.url).post(`/api/artifacts/${art.id}/verify`).set(bearer(viewer.token)).expect(403);
      await upload(auditor.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'a.log', content }]).expect(403);
      await request(stack.url).delete(`/api/artifacts/${art.id}`).set(bearer(auditor.token)).expect(403);
      const dl = await download(auditor.token, art.id).expect(200);
      expect((dl.body as Buffer).toString()).toBe('role test\n');
      await request(stack.url).get(`/api/artifacts/${art.id}`).set(bearer(viewer.token)).expect(200);
      await request(stack.url).get(`/api/hosts/${host}/artifacts`).expect(401);
    });
  });

  /**
   * Starts an upload that sends the head of a 900 kB file and then stalls, so a test can stop or kill the
   * service while the body is in flight. `outcome` is the status the gateway answered, or the socket error.
   */
  function stalledUpload(token: string, hostId: string, filename: string): { outcome: Promise<number | string>; cancel(): void } {
    const boundary = `stall${randomBytes(6).toString('hex')}`;
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlog\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\n`);
    const req: ClientRequest = httpRequest(new URL(`/api/hosts/${hostId}/artifacts`, stack.url), {
      method: 'POST',
      headers: { ...bearer(token), 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + 900_000 + 100) },
    });
    const outcome = new Promise<number | string>((resolve) => {
      req.on('response', (res: IncomingMessage) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => resolve(err.message));
    });
    req.write(head);
    req.write(randomBytes(300_000)); // a third of the file, then the client stalls
    return { outcome, cancel: () => req.destroy() };
  }

  /** The artifacts service (at its internal URL) is receiving an upload body. */
  async function waitForUploadInFlight(serviceUrl: string): Promise<void> {
    await waitFor(async () => (await harness.uploadsInProgress(serviceUrl)) >= 1, { what: 'the upload to be in flight' });
    // fs: the body is being written to a temp file (an S3 multipart upload in progress is not an object)
    if (driver === 'fs') await waitFor(async () => (await tempFiles()).length === 1, { what: 'the upload to reach a temp file' });
  }

  describe('crash safety', () => {
    it('stopping the service mid-upload leaves nothing visible and nothing behind after restart', async () => {
      const host = await createHost();
      const blobsBefore = (await blobFiles()).length;
      const upload1 = stalledUpload(operator.token, host, 'big.log');
      await waitForUploadInFlight(stack.env.ARTIFACTS_URL as string);
      // restart on the same port (the gateway keeps its ARTIFACTS_URL)
      stack.env.ARTIFACTS_PORT = new URL(stack.env.ARTIFACTS_URL as string).port;
      await stack.restart('artifacts');
      expect(await upload1.outcome).not.toBe(201);
      upload1.cancel();
      expect(await tempFiles()).toEqual([]);
      expect((await blobFiles()).length).toBe(blobsBefore);
      expect(await rowCount(`SELECT count(*) AS n FROM artifacts.artifacts WHERE host_id = $1`, [host])).toBe(0);
      // the restarted service works
      await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'after.log', content: Buffer.from('after restart\n') }]).expect(201);
    });

    it('SIGKILL of a real artifacts process mid-upload: nothing visible, and nothing left after the next start', async () => {
      const main = join(__dirname, '..', 'dist', 'services', 'artifacts', 'src', 'main.js');
      if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
      const host = await createHost();
      const blobsBefore = (await blobFiles()).length;
      // Replace the in-process service by a real process on the same port (the gateway keeps its ARTIFACTS_URL).
      const port = new URL(stack.env.ARTIFACTS_URL as string).port;
      stack.env.ARTIFACTS_PORT = port; // the in-process restart below comes back on the same port too
      await stack.stopService('artifacts');
      const child: ChildProcess = spawn(process.execPath, [main], {
        env: { ...serviceEnv(stack, 'artifacts'), ...natsServiceEnv('artifacts'), ARTIFACTS_PORT: port, LOG_LEVEL: 'error' }, // its own database and NATS logins
        stdio: 'ignore',
      });
      try {
        await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'artifacts process ready' });
        const upload2 = stalledUpload(operator.token, host, 'killed.log');
        await waitForUploadInFlight(`http://127.0.0.1:${port}`);
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        expect(await upload2.outcome).not.toBe(201);
        upload2.cancel();
        // nothing is visible: no metadata row (the transaction never ran)
        expect(await rowCount(`SELECT count(*) AS n FROM artifacts.artifacts WHERE host_id = $1`, [host])).toBe(0);
      } finally {
        if (child.exitCode === null) child.kill('SIGKILL');
        await stack.startService('artifacts');
      }
      // and the next start removed what the killed process left (its temp names this instance and a dead process)
      expect(await tempFiles()).toEqual([]);
      expect((await blobFiles()).length).toBe(blobsBefore);
      await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'after-kill.log', content: Buffer.from('after kill\n') }]).expect(201);
    });

    it('a hard crash leaves a temp and an unrecorded blob: removed at once when the writer is provably dead, else only after the grace period', async () => {
      await stack.stopService('artifacts');
      // what SIGKILL can leave: half-written temps, and a blob written into place whose transaction never committed
      const dead = spawn(process.execPath, ['-e', '']);
      const deadPid = dead.pid as number;
      await new Promise((r) => dead.once('exit', r));
      const ownDead = `${INSTANCE}~${deadPid}~0123456789abcdef~${randomUUID()}.part`;
      const otherReplica = `another-replica~${deadPid}~0123456789abcdef~${randomUUID()}.part`;
      await storage.writeTemp(ownDead, randomBytes(1000));
      await storage.writeTemp(otherReplica, randomBytes(1000));
      await storage.writeTemp('crashed-upload.part', randomBytes(1000));
      const orphan = sha(Buffer.from('never committed'));
      await storage.writeBlob(orphan, Buffer.from('never committed'));
      await stack.startService('artifacts');
      // this instance's dead process: gone at once. Another replica's temp and the unrecorded blob are young: they may
      // be an upload in progress or a commit under way elsewhere, so they stay
      expect((await tempFiles()).sort()).toEqual([otherReplica, 'crashed-upload.part'].sort());
      expect(await storage.hasBlob(orphan)).toBe(true);
      // a start after the grace period has passed removes them
      await stack.stopService('artifacts');
      await stack.startService('artifacts', { clock: () => Date.now() + (GRACE_SECONDS + 60) * 1000 });
      expect(await tempFiles()).toEqual([]);
      expect(await storage.hasBlob(orphan)).toBe(false);
      // every blob left has a referenced row, and every row its blob
      const rows = (await db.query<{ sha256: string }>(`SELECT sha256 FROM artifacts.blobs WHERE ref_count > 0`)).rows.map((r) => r.sha256).sort();
      expect((await blobFiles()).sort()).toEqual(rows);
      await stack.restart('artifacts');
    });
  });

  describe('host deletion', () => {
    it('deleting the host removes its artifacts and their unreferenced blobs', async () => {
      const host = await createHost();
      const kept = await createHost();
      const shared = Buffer.from(`shared ${randomBytes(4).toString('hex')}\n`);
      const own = Buffer.from(`own ${randomBytes(4).toString('hex')}\n`);
      const a1 = (await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'own.log', content: own }]).expect(201)).body;
      await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'shared.log', content: shared }]).expect(201);
      const k = (await upload(operator.token, kept, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'shared.log', content: shared }]).expect(201)).body;
      const del = await request(stack.url).delete(`/api/hosts/${host}`).set(bearer(admin));
      expect([200, 204]).toContain(del.status);
      await waitFor(
        async () => (await request(stack.url).get(`/api/hosts/${host}/artifacts`).set(bearer(viewer.token))).body.items?.length === 0,
        { timeoutMs: 15_000, what: "the host's artifacts to be removed" },
      );
      await request(stack.url).get(`/api/artifacts/${a1.id}`).set(bearer(viewer.token)).expect(404);
      await waitFor(async () => !(await storage.hasBlob(a1.sha256)), { what: 'the host-only blob to be collected' });
      expect(await storage.hasBlob(k.sha256)).toBe(true);
      await download(operator.token, k.id).expect(200);
      // a deleted host takes no new artifacts
      await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'late.log', content: own }]).expect(404);
    });
  });

  (WITH_AUDIT ? describe : describe.skip)('audit trail', () => {
    it('records upload, download, verify and delete with the sha256', async () => {
      const host = await createHost();
      const content = Buffer.from(`audited ${randomBytes(4).toString('hex')}\n`);
      const art = (await upload(operator.token, host, [{ name: 'kind', value: 'log' }, { name: 'file', filename: 'audited.log', content }]).expect(201)).body;
      await download(auditor.token, art.id).expect(200);
      await request(stack.url).post(`/api/artifacts/${art.id}/verify`).set(bearer(auditor.token)).expect(200);
      await request(stack.url).delete(`/api/artifacts/${art.id}`).set(bearer(operator.token)).expect(204);
      const wanted = ['artifacts.artifact.uploaded', 'artifacts.artifact.downloaded', 'artifacts.artifact.verified', 'artifacts.artifact.deleted'];
      const entries = await waitFor(
        async () => {
          const r = await request(stack.url).get('/api/audit').query({ entity_id: art.id, limit: 100 }).set(bearer(auditor.token));
          const items = (r.body.items ?? []) as Array<{ type: string; actor: { user_id: string } | null; data: Record<string, unknown> }>;
          return wanted.every((t) => items.some((i) => i.type === t)) ? items : null;
        },
        { timeoutMs: 20_000, what: 'the artifact events in the audit trail' },
      );
      for (const t of wanted) {
        const e = entries.find((i) => i.type === t)!;
        expect(e.data.sha256).toBe(art.sha256);
      }
      expect(entries.find((i) => i.type === 'artifacts.artifact.uploaded')!.actor?.user_id).toBe(operator.id);
      expect(entries.find((i) => i.type === 'artifacts.artifact.downloaded')!.actor?.user_id).toBe(auditor.id);
    });
  });
});
