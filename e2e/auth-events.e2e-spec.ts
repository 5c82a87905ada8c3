import request from 'supertest';
import { connect } from 'nats';
import { Client } from 'pg';
import { readStream, startOwnNatsServer, testNatsAdmin, type OwnNatsServer } from '@opsdesk/testing';

import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, login, seedAdmin, startStack, waitFor, type Stack } from './support/stack';

async function outboxIds(url: string): Promise<{ ids: string[]; unpublished: number }> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    const rows = await c.query(`SELECT id, published_at FROM auth.outbox ORDER BY seq`);
    return { ids: rows.rows.map((r) => r.id), unpublished: rows.rows.filter((r) => !r.published_at).length };
  } finally {
    await c.end();
  }
}

async function streamEvents(natsUrl: string, stream: string) {
  const nc = await connect({ servers: natsUrl, ...testNatsAdmin() });
  try {
    return await readStream(await nc.jetstreamManager(), stream);
  } finally {
    await nc.close();
  }
}

function expectExactlyOnce(stream: Awaited<ReturnType<typeof streamEvents>>, ids: string[]) {
  const seen = stream.map((m) => m.event.id);
  expect(new Set(seen).size).toBe(seen.length);
  expect([...seen].sort()).toEqual([...ids].sort());
}

describe('auth events reach JetStream exactly once when the relay is killed mid-batch', () => {
  let stack: Stack;
  let crashes = 0;

  beforeAll(async () => {
    let published = 0;
    stack = await startStack('authrelay', {
      options: {
        auth: {
          relay: {
            // fault injection: the 3rd publish "kills" the relay before it marks its batch (once)
            afterPublish: () => {
              published++;
              if (published === 3 && crashes === 0) {
                crashes++;
                throw new Error('relay killed between publish and mark');
              }
            },
          },
        },
      },
    });
  });

  afterAll(async () => stack?.stop());

  it('every outbox event is in the stream once, with the auth event types', async () => {
    const admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await request(stack.url).post('/api/users').set(bearer(admin.access)).send({ email: 'ev1@e2e.test', password: 'Ev3nt-Passw0rd!', role: 'viewer' }).expect(201);
    await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', '203.0.113.9').send({ email: 'ev1@e2e.test', password: 'wrong-password-1' }).expect(401);
    await request(stack.url).post('/api/auth/logout').set(bearer(admin.access)).expect(204);
    await waitFor(async () => (await outboxIds(stack.db.url)).unpublished === 0, { timeoutMs: 15_000, what: 'auth outbox drained' });
    expect(crashes).toBe(1);
    const { ids } = await outboxIds(stack.db.url);
    const stream = await streamEvents(stack.env.NATS_URL as string, stack.env.EVENTS_STREAM as string);
    expectExactlyOnce(stream, ids);
    const types = stream.map((m) => m.event.type);
    expect(types).toEqual(expect.arrayContaining(['auth.user.created', 'auth.login.succeeded', 'auth.login.failed', 'auth.logout']));
    const created = stream.find((m) => m.event.type === 'auth.user.created' && m.event.data.email === 'ev1@e2e.test')!.event;
    expect(created.actor).toMatchObject({ email: ADMIN_EMAIL });
    expect(created.actor?.ip).toBeTruthy();
    expect(created.request_id).toBeTruthy();
  });
});

describe('auth events wait in the outbox while NATS is down, then flow exactly once', () => {
  let server: OwnNatsServer;
  let stack: Stack;

  beforeAll(async () => {
    server = await startOwnNatsServer();
    stack = await startStack('authnatsdown', { natsUrl: server.url });
  });

  afterAll(async () => {
    await stack?.stop();
    await server?.cleanup();
  });

  it('keeps events produced during the outage and publishes them after', async () => {
    await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    await waitFor(async () => (await outboxIds(stack.db.url)).unpublished === 0, { what: 'initial events published' });

    await server.stop();
    // NATS is down, so no RPC reaches auth; produce events through auth's own code path that needs no
    // broker: the admin seed (user.created) for two more administrators.
    await seedAdmin({ ...stack.env, ADMIN_EMAIL: 'second-admin@e2e.test' });
    await seedAdmin({ ...stack.env, ADMIN_EMAIL: 'third-admin@e2e.test' });
    expect((await outboxIds(stack.db.url)).unpublished).toBe(2);
    await expect(request(stack.internalUrl).get('/readyz')).resolves.toHaveProperty('status', 503);

    await server.start();
    await waitFor(async () => (await outboxIds(stack.db.url)).unpublished === 0, { timeoutMs: 30_000, what: 'backlog drained after NATS returned' });
    const { ids } = await outboxIds(stack.db.url);
    const stream = await streamEvents(server.url, stack.env.EVENTS_STREAM as string);
    expectExactlyOnce(stream, ids);
    expect(stream.filter((m) => m.event.type === 'auth.user.created').map((m) => m.event.data.email)).toEqual(
      expect.arrayContaining(['second-admin@e2e.test', 'third-admin@e2e.test']),
    );
    await waitFor(async () => (await request(stack.internalUrl).get('/readyz')).status === 200, { timeoutMs: 15_000, what: 'gateway ready again' });
  });
});
