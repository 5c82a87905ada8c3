import request from 'supertest';
import { startTcpProxy, TEST_PG_ADMIN_URL, type TcpProxy } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, randomIp, startStack, urlOf, waitFor, type Stack } from './support/stack';

/**
 * The database goes away under the running system (every service reaches the real Postgres through a relay
 * the test cuts, as during a Postgres restart): requests fail fast with a 503 problem and Retry-After, never
 * a 500; /readyz says the database is down and which consumer paused; when it comes back everything works
 * again without a restart, and every change acknowledged before the outage is in the audit trail once.
 */
let stack: Stack;
let proxy: TcpProxy;
let admin: { access: string; refresh: string };

beforeAll(async () => {
  proxy = await startTcpProxy(Number(new URL(TEST_PG_ADMIN_URL).port || 5432));
  stack = await startStack('dbout', {
    services: ['auth', 'inventory', 'audit'],
    env: { RATE_LIMIT_API_PER_MINUTE: '100000', RATE_LIMIT_AUTH_PER_MINUTE: '1000', RATE_LIMIT_AUTH_BURST: '1000' },
    serviceDatabaseUrl: (url) => {
      const u = new URL(url);
      u.host = proxy.address;
      return u.toString();
    },
  });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
});

afterAll(async () => {
  proxy?.heal();
  await stack?.stop();
  await proxy?.close();
});

const host = (i: number) => ({ hostname: `outage-${i}`, ip: `10.77.0.${i}`, os: 'linux', environment: 'dev', criticality: 'low' });

it('answers 503 + Retry-After while the database is down, recovers by itself, and loses no acknowledged change', async () => {
  const viewer = await createUser(stack.url, admin.access, 'viewer@outage.test', 'viewer');
  const created: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const res = await request(stack.url).post('/api/hosts').set(bearer(admin.access)).send(host(i));
    expect(res.status).toBe(201);
    created.push(res.body.id);
  }

  proxy.cut();
  const started = Date.now();
  const write = await request(stack.url).post('/api/hosts').set(bearer(admin.access)).send(host(50));
  const read = await request(stack.url).get('/api/hosts').set(bearer(admin.access));
  const signIn = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: ADMIN_EMAIL, password: ADMIN_PASSWORD });
  for (const res of [write, read, signIn]) {
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body.code).toBe('COMMON.SERVICE_UNAVAILABLE');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
  }
  // fast: no request waited for REQUEST_TIMEOUT (10 s here)
  expect(Date.now() - started).toBeLessThan(8000);

  const inventoryReady = await request(urlOf(stack.apps.inventory)).get('/readyz');
  expect(inventoryReady.status).toBe(503);
  expect(inventoryReady.body.checks.database).toBe('fail');
  // An event that needs no database to be produced (the gateway's own 403) reaches audit during the outage:
  // its consumer pauses instead of burning deliveries, and /readyz says which consumer and why.
  const denied = await request(stack.url).post('/api/hosts').set(bearer(viewer.token)).send(host(51));
  expect(denied.status).toBe(403);
  const auditReady = await waitFor(async () => {
    const r = await request(urlOf(stack.apps.audit)).get('/readyz');
    return r.body.checks?.consumers === 'fail' ? r : null;
  }, { timeoutMs: 15_000, what: 'audit consumer reported paused' });
  expect(auditReady.status).toBe(503);
  expect(auditReady.body.reasons.consumers).toMatch(/paused since .*database unavailable/);

  proxy.heal();
  await waitFor(async () => (await request(urlOf(stack.apps.inventory)).get('/readyz')).status === 200, { timeoutMs: 20_000, what: 'inventory ready again' });
  await waitFor(async () => (await request(urlOf(stack.apps.audit)).get('/readyz')).status === 200, { timeoutMs: 20_000, what: 'audit ready again' });
  const after = await request(stack.url).post('/api/hosts').set(bearer(admin.access)).send(host(6));
  expect(after.status).toBe(201);
  created.push(after.body.id);

  // every acknowledged create is in the trail exactly once, and nothing was dead-lettered.
  // KNOWN SLOW PATH (docs/RELIABILITY.md "Left"): an event delivered to audit's consumer right around the cut can stay
  // unsettled until JetStream's ack wait (30 s) redelivers it, so the budget covers one ack wait; nothing is lost.
  for (const id of created) {
    await waitFor(async () => {
      const r = await request(stack.url).get('/api/audit').query({ entity_id: id, action: 'inventory.host.created' }).set(bearer(admin.access));
      return r.status === 200 && r.body.items.length === 1;
    }, { timeoutMs: 45_000, what: `audit record of host ${id}` });
  }
  await waitFor(async () => {
    const r = await request(stack.url).get('/api/audit').query({ action: 'gateway.request.denied', actor: viewer.id }).set(bearer(admin.access));
    return r.status === 200 && r.body.items.length === 1;
  }, { timeoutMs: 20_000, what: 'the 403 during the outage recorded once' });
  const verify = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access));
  expect(verify.status).toBe(200);
  expect(verify.body.ok).toBe(true);
}, 120_000);
