/**
 * Issue 11, resources: a per-user upload quota and a free-space floor answered 507 before anything is written,
 * and a cap on one user's concurrent uploads (429), through the gateway to a real artifacts service — once per
 * storage driver (the free-space floor is the fs driver's: an object store has no free-space figure).
 */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import request from 'supertest';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, startStack, waitFor, type Stack } from './support/stack';

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the artifacts test harness is found by convention, like the services
const harness = require(join(__dirname, '..', 'services', 'artifacts', 'test', 'support', 'storage-harness')) as typeof import('../services/artifacts/test/support/storage-harness');
type StorageHarness = Awaited<ReturnType<typeof harness.startStorage>>;

describe.each(harness.STORAGE_DRIVERS)('artifact limits with %s storage', (driver) => {
  let stack: Stack;
  let storage: StorageHarness;
  let admin: string;
  let operator: { id: string; token: string };
  let host: string;

  beforeAll(async () => {
    storage = await harness.startStorage(driver, `artifactlimits-${driver}`);
    stack = await startStack(`artifactlimits${driver}`, {
      services: ['auth', 'inventory', 'artifacts'],
      env: { MAX_ARTIFACT_SIZE_MB: '1', ARTIFACT_QUOTA_MB_PER_USER: '1', ARTIFACT_MAX_CONCURRENT_UPLOADS_PER_USER: '1', ARTIFACT_MIN_FREE_MB: '0', ...storage.env },
    });
    admin = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
    operator = await createUser(stack.url, admin, 'uploader@limits.test', 'operator');
    host = (await request(stack.url).post('/api/hosts').set(bearer(admin)).send({ hostname: 'limits-1', ip: '10.99.0.1', environment: 'dev' }).expect(201)).body.id;
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
    await storage?.close();
  });

  function body(size: number): { data: Buffer; type: string } {
    const boundary = `lim${randomBytes(6).toString('hex')}`;
    const data = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlog\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.log"\r\n\r\n`),
      randomBytes(size),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    return { data, type: `multipart/form-data; boundary=${boundary}` };
  }
  const upload = (token: string, size: number) => {
    const b = body(size);
    return request(stack.url).post(`/api/hosts/${host}/artifacts`).set(bearer(token)).set('Content-Type', b.type).send(b.data);
  };
  const tempFiles = () => storage.tempNames();

  it('a user past the quota gets 507 before anything is written', async () => {
    await upload(operator.token, 700_000).expect(201);
    const over = await upload(operator.token, 700_000);
    expect(over.status).toBe(507);
    expect(over.body.code).toBe('ARTIFACTS.QUOTA_EXCEEDED');
    expect(over.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(await tempFiles()).toEqual([]);
    // another user has a quota of their own
    const other = await createUser(stack.url, admin, 'other-uploader@limits.test', 'operator');
    await upload(other.token, 700_000).expect(201);
  });

  it("a second concurrent upload of the same user is refused (429) while the first is in flight", async () => {
    const u = await createUser(stack.url, admin, 'concurrent@limits.test', 'operator');
    const boundary = `stall${randomBytes(6).toString('hex')}`;
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nlog\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.log"\r\n\r\n`);
    const stalled: ClientRequest = httpRequest(new URL(`/api/hosts/${host}/artifacts`, stack.url), {
      method: 'POST',
      headers: { ...bearer(u.token), 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + 500_000 + 100) },
    });
    const done = new Promise<void>((resolve) => {
      stalled.on('response', (res: IncomingMessage) => {
        res.resume();
        resolve();
      });
      stalled.on('error', () => resolve());
    });
    stalled.write(head);
    stalled.write(randomBytes(100_000));
    await waitFor(async () => (await harness.uploadsInProgress(stack.env.ARTIFACTS_URL as string)) === 1, { what: 'the first upload to be streaming' });
    const second = await upload(u.token, 1000);
    expect(second.status).toBe(429);
    expect(second.body.code).toBe('ARTIFACTS.TOO_MANY_UPLOADS');
    stalled.destroy();
    await done;
    await waitFor(async () => (await harness.uploadsInProgress(stack.env.ARTIFACTS_URL as string)) === 0 && (await tempFiles()).length === 0, { what: 'the aborted upload cleaned up' });
    await upload(u.token, 1000).expect(201);
  });

  it(driver === 'fs' ? 'storage below the free-space floor answers 507 before writing' : 'the free-space floor does not apply to an object store', async () => {
    // a floor no disk meets: the artifacts service restarts with it
    stack.env.ARTIFACT_MIN_FREE_MB = String(1024 * 1024 * 1024);
    // on the same port: the gateway keeps its ARTIFACTS_URL
    stack.env.ARTIFACTS_PORT = new URL(stack.env.ARTIFACTS_URL as string).port;
    await stack.restart('artifacts');
    const u = await createUser(stack.url, admin, 'full@limits.test', 'operator');
    const res = await upload(u.token, 1000);
    if (driver === 's3') {
      expect(res.status).toBe(201);
      return;
    }
    expect(res.status).toBe(507);
    expect(res.body.code).toBe('ARTIFACTS.STORAGE_FULL');
    expect(await tempFiles()).toEqual([]);
  });
});
