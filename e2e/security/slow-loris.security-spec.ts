/**
 * Slow-loris at the edge (issue 11, "Hostile input"): clients that open uploads and then stall, and clients that
 * never finish their headers. They must time out without exhausting the service: each stalled upload is cut
 * with a 408 problem and its socket closed, the user's upload slots come back, stalled headers are dropped, and
 * other users are served meanwhile. A slow but moving upload is not cut (the timeout is idle, not total). The
 * opposite abuse: an upload refused before it is read is not read to its end (closed within the linger).
 * The gateway runs with short timeouts (2 s) so the suite stays quick; the shipped defaults are in gateway.config.ts.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, startStack, waitFor, type Stack } from '../support/stack';
import { recordCheck } from './support/report';

const IDLE_SECONDS = 2;
const SLOTS_PER_USER = 2;

let stack: Stack;
let storage: string;
let admin: string;
let host: string;

beforeAll(async () => {
  storage = mkdtempSync(join(tmpdir(), 'opsdesk-slowloris-'));
  stack = await startStack('secloris', {
    services: ['auth', 'inventory', 'artifacts'],
    env: {
      BODY_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS),
      HEADERS_TIMEOUT_SECONDS: String(IDLE_SECONDS),
      ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: String(SLOTS_PER_USER),
      ARTIFACT_MIN_FREE_MB: '0',
      ARTIFACT_STORAGE_PATH: storage,
      // the reader below polls as fast as it can: the per-user API limit (100/min) is not what this checks
      RATE_LIMIT_API_PER_MINUTE: '100000',
    },
  });
  admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
  host = (await request(stack.url).post('/api/hosts').set(bearer(admin)).send({ hostname: 'loris-1', ip: '10.98.0.1', environment: 'dev' }).expect(201)).body.id;
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (storage) rmSync(storage, { recursive: true, force: true });
});

function multipart(size: number): { head: Buffer; file: Buffer; tail: Buffer; type: string } {
  const boundary = `loris${randomBytes(6).toString('hex')}`;
  return {
    head: Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlog\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="loris.log"\r\n\r\n`),
    file: randomBytes(size),
    tail: Buffer.from(`\r\n--${boundary}--\r\n`),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

interface Outcome {
  status?: number;
  body: string;
  /** the server closed the socket */
  closed: boolean;
}

/**
 * Opens an upload that declares `size` bytes of file, sends the first `sendFirst` of them and then, per `trickle`,
 * either stalls forever (undefined) or keeps sending `trickle.bytes` every `trickle.everyMs` until done.
 */
function slowUpload(token: string, size: number, sendFirst: number, trickle?: { bytes: number; everyMs: number }) {
  const m = multipart(size);
  const whole = Buffer.concat([m.head, m.file, m.tail]);
  const outcome: Outcome = { body: '', closed: false };
  const req = httpRequest(`${stack.url}/api/hosts/${host}/artifacts`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': m.type, 'content-length': String(whole.length) },
  });
  let timer: NodeJS.Timeout | undefined;
  const finished = new Promise<Outcome>((resolve) => {
    req.on('response', (res: IncomingMessage) => {
      outcome.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (outcome.body += c));
      res.on('end', () => resolve(outcome));
      res.on('error', () => resolve(outcome));
    });
    req.on('close', () => {
      outcome.closed = true;
      clearInterval(timer);
      resolve(outcome);
    });
    req.on('error', () => {
      outcome.closed = true;
      resolve(outcome);
    });
  });
  let sent = m.head.length + sendFirst;
  req.write(whole.subarray(0, sent));
  if (trickle) {
    timer = setInterval(() => {
      if (req.destroyed) return clearInterval(timer);
      const next = Math.min(whole.length, sent + trickle.bytes);
      req.write(whole.subarray(sent, next));
      sent = next;
      if (sent >= whole.length) {
        clearInterval(timer);
        req.end();
      }
    }, trickle.everyMs);
  }
  return { finished, abort: () => req.destroy() };
}

it('stalled uploads are cut with 408 and their sockets closed; the slots come back; other users are served meanwhile', async () => {
  const users = await Promise.all([1, 2, 3].map((i) => createUser(stack.url, admin, `loris${i}@secloris.test`, 'operator')));
  const reader = await createUser(stack.url, admin, 'reader@secloris.test', 'viewer');
  // every user takes all their upload slots with uploads that stall after 1 KiB of a declared 1 MiB
  const stalled = users.flatMap((u) => Array.from({ length: SLOTS_PER_USER }, () => slowUpload(u.token, 1024 * 1024, 1024)));

  // meanwhile a reader is served (every answer 200)
  const readStatuses: number[] = [];
  let stalling = true;
  const readerLoop = (async () => {
    while (stalling) readStatuses.push((await request(stack.url).get('/api/hosts').set(bearer(reader.token))).status);
  })();

  const outcomes = await Promise.all(stalled.map((s) => s.finished));
  stalling = false;
  await readerLoop;

  for (const o of outcomes) {
    expect(o.status).toBe(408);
    expect(JSON.parse(o.body)).toMatchObject({ status: 408, code: 'COMMON.BODY_TIMEOUT' });
  }
  // the server dropped every stalled socket (the client never closed one)
  await waitFor(() => outcomes.every((o) => o.closed), { timeoutMs: 10_000, what: 'the stalled upload sockets to be closed by the server' });
  expect(readStatuses.length).toBeGreaterThan(0);
  expect(readStatuses.filter((s) => s !== 200)).toEqual([]);

  // the artifacts service let go of the cut uploads: each user's slots are free again (a full set of uploads succeeds)
  const small = multipart(2048);
  for (const u of users) {
    const again = await Promise.all(
      Array.from({ length: SLOTS_PER_USER }, () =>
        request(stack.url).post(`/api/hosts/${host}/artifacts`).set(bearer(u.token)).set('Content-Type', small.type).send(Buffer.concat([small.head, randomBytes(2048), small.tail])),
      ),
    );
    expect(again.map((r) => r.status)).toEqual(Array(SLOTS_PER_USER).fill(201));
  }
  // and nothing of the cut uploads was recorded: only the completed ones are artifacts of the host
  const listed = await request(stack.url).get(`/api/hosts/${host}/artifacts`).set(bearer(admin)).expect(200);
  const sizes = (listed.body.items as Array<{ size: number }>).map((a) => a.size);
  expect(sizes).toEqual(Array(users.length * SLOTS_PER_USER).fill(2048));
  recordCheck('slow-loris-uploads', stalled.length, `uploads stalled after 1 KiB are cut after ${IDLE_SECONDS} s idle (408 COMMON.BODY_TIMEOUT, socket closed), the upload slots come back, a reader is served meanwhile`, {
    reads_during_stall: readStatuses.length,
  });
}, 120_000);

it('a slow but moving upload is not cut: the timeout is idle time, not total time', async () => {
  const u = await createUser(stack.url, admin, 'patient@secloris.test', 'operator');
  // 16 KiB in 1 KiB steps every 400 ms: ~6.5 s in total, over three times the idle timeout, never idle for 2 s
  const slow = slowUpload(u.token, 16 * 1024, 0, { bytes: 1024, everyMs: 400 });
  const o = await slow.finished;
  expect(o.status).toBe(201);
  expect(JSON.parse(o.body)).toMatchObject({ size: 16 * 1024 });
  recordCheck('slow-moving-upload', 1, 'an upload that trickles for 3× the idle timeout but never stalls completes (201)');
}, 60_000);

it('connections that never finish their headers are dropped while other requests are served', async () => {
  const port = Number(new URL(stack.url).port);
  const sockets: Array<{ socket: Socket; closed: boolean }> = [];
  for (let i = 0; i < 50; i++) {
    const entry = { socket: connect(port, '127.0.0.1'), closed: false };
    entry.socket.on('close', () => (entry.closed = true));
    entry.socket.on('error', () => (entry.closed = true));
    // a request line and one header, then a header byte now and then, never the blank line
    entry.socket.write('GET /api/hosts HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    sockets.push(entry);
  }
  const drip = setInterval(() => {
    for (const s of sockets) if (!s.closed) s.socket.write('X');
  }, 500);
  try {
    // served meanwhile
    await request(stack.url).get('/healthz').expect(200);
    await request(stack.url).get('/api/hosts').set(bearer(admin)).expect(200);
    // Node drops them once headersTimeout passes (checked every connectionsCheckingInterval)
    await waitFor(() => sockets.every((s) => s.closed), { timeoutMs: 20_000, what: 'the gateway to drop connections whose headers never end' });
  } finally {
    clearInterval(drip);
    for (const s of sockets) s.socket.destroy();
  }
  await request(stack.url).get('/api/hosts').set(bearer(admin)).expect(200);
  recordCheck('slow-loris-headers', sockets.length, `connections dripping header bytes without ever ending them are dropped after the ${IDLE_SECONDS} s headers timeout; other requests are served`);
}, 60_000);

const refusedBeforeRead: Array<[string, 'viewer' | undefined]> = [
  ['without a token (401)', undefined],
  ['by a role that may not upload (403)', 'viewer'],
];
it.each(refusedBeforeRead)('an upload refused before it is read %s is answered at once and not read to the end: closed within the linger while the client keeps sending', async (_what, role) => {
  const token = role ? (await createUser(stack.url, admin, `refused-${role}@secloris.test`, role)).token : undefined;
  const port = Number(new URL(stack.url).port);
  const socket = connect(port, '127.0.0.1');
  let text = '';
  let closed = false;
  let error: Error | null = null;
  socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', (err) => (error = err));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  // declares 64 GB and sends as fast as the gateway reads: before, the gateway read a refused body to its end (a
  // 2 GB one in 1.5 s on loopback), for up to Node's 5-minute request timeout
  const declared = 64 * 1024 ** 3;
  const m = multipart(0);
  socket.write(
    `POST /api/hosts/${host}/artifacts HTTP/1.1\r\nHost: 127.0.0.1\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}` +
      `Content-Type: ${m.type}\r\nContent-Length: ${declared}\r\n\r\n`,
  );
  socket.write(m.head);
  const chunk = Buffer.alloc(1024 * 1024, 1);
  let sent = m.head.length;
  let answeredAt = 0;
  while (!closed && !error && sent < declared) {
    if (!answeredAt && /\r\n\r\n\{[\s\S]*\}$/.test(text)) answeredAt = Date.now();
    // LINGER_AFTER_ANSWER_MS (5 s) after the answer, plus slack for a loaded CI machine
    if (answeredAt && Date.now() - answeredAt > 15_000) break;
    const flushed = socket.write(chunk);
    sent += chunk.length;
    if (!flushed) await new Promise<void>((resolve) => socket.once('drain', () => resolve()).once('close', () => resolve()));
  }
  socket.destroy();
  expect(text).toMatch(role ? /^HTTP\/1\.1 403 / : /^HTTP\/1\.1 401 /);
  expect(answeredAt).toBeGreaterThan(0);
  // the gateway closed the connection (a close or a reset once the linger was over), well before the body's end
  expect(closed || error !== null).toBe(true);
  expect(sent).toBeLessThan(declared);
  recordCheck(`refused-upload-not-read-${role ?? 'anonymous'}`, 1, 'an upload refused before it is read is answered at once and its connection closed within the 5 s linger, not read to its declared end', {
    mb_read_before_close: Math.round(sent / 1024 ** 2),
  });
}, 60_000);
