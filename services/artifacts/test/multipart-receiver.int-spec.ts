import { createHash, randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { AppError, ArtifactsErrors } from '@opsdesk/contracts';
import { contextKeyEnv } from '@opsdesk/testing';
import { loadArtifactsConfig } from '../src/config/artifacts.config';
import type { BlobStore, TempUpload } from '../src/storage/blob-store';
import { createBlobStore } from '../src/storage/storage.module';
import { UPLOAD_FORM_LIMITS, UploadAborted, receiveMultipart, type ReceivedFile } from '../src/uploads/multipart-receiver';
import { STORAGE_DRIVERS, startStorage, type StorageHarness } from './support/storage-harness';

/**
 * The upload route's multipart receiver over real HTTP into each real storage driver (a temp directory; s3rver
 * through the AWS SDK): what it stores, what it refuses and with which code, that a refusal leaves no temp behind
 * and still answers on the same connection, and that a slow store pauses the request instead of buffering it.
 */
const MB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const BOUNDARY = '----opsdesk-receiver-7f3a';
const TYPE = `multipart/form-data; boundary=${BOUNDARY}`;

function form(parts: { name: string; filename?: string; type?: string; body: Buffer | string }[], close = true): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    const disp = `Content-Disposition: form-data; name="${p.name}"${p.filename === undefined ? '' : `; filename="${p.filename}"`}`;
    out.push(Buffer.from(`--${BOUNDARY}\r\n${disp}\r\n${p.type ? `Content-Type: ${p.type}\r\n` : ''}\r\n`), Buffer.from(p.body), Buffer.from('\r\n'));
  }
  if (close) out.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(out);
}

interface Answer {
  status: number;
  body: { file?: Omit<ReceivedFile, 'head'> & { head: string }; code?: string; message?: string; aborted?: boolean };
}

describe.each(STORAGE_DRIVERS)('multipart receiver into the %s store', (driver) => {
  let storage: StorageHarness;
  let store: BlobStore;
  let server: Server;
  let port: number;
  let maxBytes = 8 * MB;
  /** set by a test to watch the request while it is received */
  let onRequest: ((req: IncomingMessage) => void) | null = null;
  const received: ReceivedFile[] = [];

  beforeAll(async () => {
    storage = await startStorage(driver, `receiver-${driver}`);
    store = createBlobStore(
      loadArtifactsConfig({ ENVIRONMENT: 'development', DATABASE_URL: 'postgres://unused@127.0.0.1/unused', ...contextKeyEnv(), ...storage.env, ARTIFACT_INSTANCE_ID: 'receiver' }),
    );
    await store.init();
    // the route as the service runs it, minus the database: receive, answer, keep nothing
    server = createServer((req, res) => {
      onRequest?.(req);
      receiveMultipart(req, store, maxBytes).done.then(
        async (file) => {
          received.push(file);
          await store.removeTemp(file.tempName);
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ file: { ...file, head: file.head.toString('latin1') } }));
        },
        (err: Error) => {
          if (res.destroyed) return;
          const body = err instanceof AppError ? { code: err.code, message: err.message } : { aborted: err instanceof UploadAborted, message: err.message };
          res.writeHead(err instanceof AppError && err.code === ArtifactsErrors.TOO_LARGE ? 413 : 400, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.close();
    await storage?.close();
  });

  afterEach(async () => {
    maxBytes = 8 * MB;
    onRequest = null;
    // whatever a test did, no upload is left half-written
    const deadline = Date.now() + 10_000;
    while ((await storage.tempNames()).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(await storage.tempNames()).toEqual([]);
  });

  /** Sends `chunks` one write each (the body's framing as a client would cut it) on a keep-alive connection. */
  function send(chunks: Buffer[], headers: Record<string, string> = { 'content-type': TYPE }, endAfterMs = 0): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers, agent: false }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(parts).toString() || '{}') as Answer['body'] }));
      });
      req.on('error', reject);
      const next = (i: number) => {
        // endAfterMs: the request's end arrives on its own, after the body was read
        if (i === chunks.length) return void setTimeout(() => req.end(), endAfterMs);
        if (req.write(chunks[i])) setImmediate(() => next(i + 1));
        else req.once('drain', () => next(i + 1));
      };
      next(0);
    });
  }

  it('stores the file part whole whatever the chunking, with the fields before and after it', async () => {
    const bytes = Buffer.concat([randomBytes(3 * MB), Buffer.from(`\r\n--${BOUNDARY.slice(0, -1)}\r\n--`), randomBytes(1000)]);
    const body = form([
      { name: 'kind', body: 'log' },
      { name: 'file', filename: '../../etc/passwd', type: 'application/octet-stream', body: bytes },
      { name: 'description', body: 'crash dump, night run' },
    ]);
    for (const size of [body.length, 64 * 1024, 1000, 1]) {
      const chunks: Buffer[] = size === 1 ? [...[...body.subarray(0, 4096)].map((b) => Buffer.from([b])), body.subarray(4096)] : Array.from({ length: Math.ceil(body.length / size) }, (_, i) => body.subarray(i * size, (i + 1) * size));
      const res = await send(chunks);
      expect(res.status).toBe(201);
      expect(res.body.file).toMatchObject({ size: bytes.length, sha256: sha(bytes), clientName: '../../etc/passwd', fields: { kind: 'log', description: 'crash dump, night run' } });
      expect(Buffer.from(res.body.file!.head, 'latin1')).toEqual(bytes.subarray(0, Buffer.from(res.body.file!.head, 'latin1').length));
    }
  });

  it('keeps a field named __proto__ as data', async () => {
    const res = await send([form([{ name: '__proto__', body: 'x' }, { name: 'file', filename: 'a', body: 'abc' }])]);
    expect(res.status).toBe(201);
    expect(res.body.file!.fields).toEqual({ ['__proto__']: 'x' });
    expect(Object.getPrototypeOf(received.at(-1)!.fields)).toBe(Object.prototype);
  });

  it.each([
    ['a file one byte over the limit', () => form([{ name: 'kind', body: 'log' }, { name: 'file', filename: 'big', body: Buffer.alloc(MB + 1, 1) }]), ArtifactsErrors.TOO_LARGE, /larger than the limit of 1048576 bytes/],
    ['no file part', () => form([{ name: 'kind', body: 'log' }]), ArtifactsErrors.FILE_REQUIRED, /no file part/],
    ['a file part under another name', () => form([{ name: 'upload', filename: 'a', body: 'x' }]), ArtifactsErrors.INVALID_UPLOAD, /named "file"/],
    ['two files', () => form([{ name: 'file', filename: 'a', body: 'x' }, { name: 'file', filename: 'b', body: 'y' }]), ArtifactsErrors.INVALID_UPLOAD, /Too many files/],
    ['eleven fields', () => form([...Array.from({ length: 11 }, (_, i) => ({ name: `f${i}`, body: 'v' })), { name: 'file', filename: 'a', body: 'x' }]), ArtifactsErrors.INVALID_UPLOAD, /Too many (fields|parts)/],
    ['a field over 16 KiB', () => form([{ name: 'description', body: 'd'.repeat(UPLOAD_FORM_LIMITS.fieldSize + 1) }, { name: 'file', filename: 'a', body: 'x' }]), ArtifactsErrors.INVALID_UPLOAD, /description is too long/],
    ['a field name over 100 characters', () => form([{ name: 'n'.repeat(101), body: 'v' }, { name: 'file', filename: 'a', body: 'x' }]), ArtifactsErrors.INVALID_UPLOAD, new RegExp(`Field ${'n'.repeat(100)} is too long`)],
    ['a field in an unknown charset', () => form([{ name: 'kind', type: 'text/plain; charset=x-opsdesk', body: 'log' }, { name: 'file', filename: 'a', body: 'x' }]), ArtifactsErrors.INVALID_UPLOAD, /charset/],
    ['a nameless field', () => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nv\r\n--${BOUNDARY}--`), ArtifactsErrors.INVALID_UPLOAD, /needs a name/],
    ['a malformed part header', () => Buffer.from(`--${BOUNDARY}\r\nContent-Disposition form-data\r\n\r\nv\r\n--${BOUNDARY}--`), ArtifactsErrors.INVALID_UPLOAD, /Malformed multipart body: Malformed part header/],
    ['a form cut short after the file', () => form([{ name: 'file', filename: 'a', body: Buffer.alloc(MB / 2, 2) }], false), ArtifactsErrors.INVALID_UPLOAD, /Unexpected end of form/],
  ])('refuses %s with its code, removing the temp, and answers on the same connection', async (_what, body, code, message) => {
    maxBytes = MB;
    const raw = body();
    const res = await send(Array.from({ length: Math.ceil(raw.length / (256 * 1024)) }, (_, i) => raw.subarray(i * 256 * 1024, (i + 1) * 256 * 1024)));
    expect(res.body).toMatchObject({ code });
    expect(res.body.message).toMatch(message);
    expect(res.status).toBe(code === ArtifactsErrors.TOO_LARGE ? 413 : 400);
  });

  it.each([
    ['no Content-Type', {}],
    ['a JSON Content-Type', { 'content-type': 'application/json' }],
    ['no boundary', { 'content-type': 'multipart/form-data' }],
    ['a boundary over 70 characters', { 'content-type': `multipart/form-data; boundary=${'b'.repeat(71)}` }],
  ])('refuses %s before reading the body', async (_what, headers) => {
    const res = await send([form([{ name: 'file', filename: 'a', body: 'x' }])], headers);
    expect(res).toMatchObject({ status: 400, body: { code: ArtifactsErrors.INVALID_UPLOAD } });
    expect(res.body.message).toMatch(/multipart\/form-data/);
  });

  it('a client that goes away mid-file leaves no temp', async () => {
    let seen: IncomingMessage | null = null;
    onRequest = (req) => (seen = req);
    const head = form([{ name: 'file', filename: 'a', body: Buffer.alloc(0) }], false).subarray(0, -2);
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { 'content-type': TYPE, 'content-length': String(8 * MB) }, agent: false });
      req.on('error', () => resolve());
      req.write(Buffer.concat([head, Buffer.alloc(2 * MB, 3)]), () => setTimeout(() => req.destroy(), 100));
    });
    expect(seen).not.toBeNull();
    // afterEach: the temp is gone
  });

  it.each([
    ['pauses the request while storage is behind, instead of buffering the file', 96 * MB],
    ['finishes a file whose last bytes found storage behind (the request is not left paused)', MB + 10 * 1024],
  ])('%s', async (_what, fileSize) => {
    // the store's temp stream held (corked) until released: writes pile up to its high-water mark, then the
    // receiver must stop reading the socket; TCP pushes back on the client
    let release: () => void = () => undefined;
    const real = store.createTemp.bind(store);
    const spy = jest.spyOn(store, 'createTemp').mockImplementation((): TempUpload => {
      const temp = real();
      (temp.stream as Writable).cork();
      release = () => (temp.stream as Writable).uncork();
      return temp;
    });
    let socketRead = () => 0;
    onRequest = (req) => (socketRead = () => req.socket.bytesRead);
    try {
      maxBytes = 256 * MB;
      const bytes = randomBytes(fileSize);
      const body = form([{ name: 'kind', body: 'log' }, { name: 'file', filename: 'big.bin', body: bytes }]);
      const answer = send(
        Array.from({ length: Math.ceil(body.length / (64 * 1024)) }, (_, i) => body.subarray(i * 64 * 1024, (i + 1) * 64 * 1024)),
        { 'content-type': TYPE },
        500,
      );
      // wait until the server stops taking bytes: it reads what fills the store's buffer and the socket's, then no more
      let last = -1;
      const deadline = Date.now() + 20_000;
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 300));
        const now = socketRead();
        if (now > 0 && now === last) break;
        last = now;
      }
      expect(last).toBeGreaterThan(0);
      // the storage stream's 1 MiB buffer and a socket read or two (1.18 MB measured), never the file
      expect(last).toBeLessThan(4 * MB);
      release();
      const res = await Promise.race([answer, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no answer 30 s after storage caught up')), 30_000))]);
      expect(res.status).toBe(201);
      expect(res.body.file).toMatchObject({ size: bytes.length, sha256: sha(bytes) });
    } finally {
      spy.mockRestore();
    }
  }, 120_000);
});
