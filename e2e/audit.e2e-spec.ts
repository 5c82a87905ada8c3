import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { authenticator } from 'otplib';
import { Client } from 'pg';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { metricsRegistry } from '@opsdesk/observability';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, randomIp, startStack, waitFor, type Stack } from './support/stack';
import { testNatsAdmin, testNatsLogin } from '@opsdesk/testing';

/**
 * Audit trail through the real gateway: every auth action is recorded once with its actor and request id,
 * the gateway's own 403/429 events are recorded, a crash between commit and ack does not duplicate, and
 * poison messages are terminated without blocking the stream.
 */
let stack: Stack;
let admin: { access: string; refresh: string };
let crashOnce: string | null = null;
let crashed = 0;

const UA = 'audit-e2e/1.0 (+opsdesk)';

beforeAll(async () => {
  stack = await startStack('audite2e', {
    services: ['auth', 'audit'],
    env: { RATE_LIMIT_API_PER_MINUTE: '100000', AUDIT_CHECKPOINT_EVERY: '10' },
    options: {
      audit: {
        consumer: {
          // fault injection: the first delivery of one chosen event "crashes" after commit, before the ack
          afterCommit: (event: { id: string }) => {
            if (crashOnce && event.id === crashOnce) {
              crashOnce = null;
              crashed++;
              throw new Error('simulated crash between commit and ack');
            }
          },
        },
      },
    },
  });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
});

afterAll(async () => {
  await stack?.stop();
});

interface Item {
  seq: number;
  event_id: string;
  type: string;
  actor: { user_id: string | null; email: string | null; ip: string | null; user_agent: string | null } | null;
  request_id: string | null;
  trace_id: string | null;
  entity_type: string;
  entity_id: string | null;
  data: Record<string, unknown>;
}

async function audit(query: Record<string, string | number>): Promise<{ items: Item[]; next_cursor: string | null }> {
  const res = await request(stack.url).get('/api/audit').query(query).set(bearer(admin.access));
  if (res.status !== 200) throw new Error(`GET /api/audit ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Waits until the action with this request id is recorded, then returns every record with that request id and type. */
async function recorded(type: string, requestId: string): Promise<Item[]> {
  return waitFor(async () => {
    const page = await audit({ action: type, limit: 100 });
    const mine = page.items.filter((i) => i.request_id === requestId);
    return mine.length > 0 ? mine : null;
  }, { timeoutMs: 15_000, what: `${type} with request id ${requestId} in /api/audit` });
}

const rid = (name: string) => `e2e-${name}-${randomUUID().slice(0, 8)}`;

function client(ip: string, requestId: string) {
  return { 'X-Forwarded-For': ip, 'X-Request-Id': requestId, 'User-Agent': UA };
}

async function expectOnce(type: string, requestId: string, ip: string, actorEmail?: string): Promise<Item> {
  const items = await recorded(type, requestId);
  expect(items).toHaveLength(1);
  const [item] = items;
  expect(item.actor).toMatchObject({ ip, user_agent: UA });
  if (actorEmail) expect(item.actor?.email).toBe(actorEmail);
  expect(item.request_id).toBe(requestId);
  return item;
}

describe('every auth action appears once in /api/audit with actor, ip, user agent and request id', () => {
  it('login succeeded / failed, account locked, logout', async () => {
    const user = await createUser(stack.url, admin.access, 'audited@e2e.test', 'operator');

    const okIp = randomIp();
    const okId = rid('login');
    const ok = await request(stack.url).post('/api/auth/login').set(client(okIp, okId)).send({ email: user.email, password: user.password }).expect(200);
    expect((await expectOnce('auth.login.succeeded', okId, okIp)).entity_id).toBe(user.id);

    const failIp = randomIp();
    const failId = rid('loginfail');
    await request(stack.url).post('/api/auth/login').set(client(failIp, failId)).send({ email: user.email, password: 'Wrong-Password-1' }).expect(401);
    await expectOnce('auth.login.failed', failId, failIp);

    const outIp = randomIp();
    const outId = rid('logout');
    await request(stack.url).post('/api/auth/logout').set(bearer(ok.body.access_token)).set(client(outIp, outId)).expect(204);
    await expectOnce('auth.logout', outId, outIp, user.email);

    const victim = await createUser(stack.url, admin.access, 'locked@e2e.test', 'viewer');
    let lastId = '';
    let lastIp = '';
    for (let i = 0; i < 5; i++) {
      lastIp = randomIp();
      lastId = rid(`lock${i}`);
      await request(stack.url).post('/api/auth/login').set(client(lastIp, lastId)).send({ email: victim.email, password: 'Wrong-Password-1' }).expect(401);
    }
    expect((await expectOnce('auth.account.locked', lastId, lastIp)).entity_id).toBe(victim.id);
  });

  it('user created, updated, role changed, deactivated', async () => {
    const ip = randomIp();
    const createId = rid('create');
    const created = await request(stack.url)
      .post('/api/users')
      .set(bearer(admin.access))
      .set(client(ip, createId))
      .send({ email: 'subject@e2e.test', password: 'Us3r-Passw0rd!x', role: 'viewer' })
      .expect(201);
    const item = await expectOnce('auth.user.created', createId, ip, ADMIN_EMAIL);
    expect(item).toMatchObject({ entity_type: 'user', entity_id: created.body.id });

    const roleId = rid('role');
    await request(stack.url).patch(`/api/users/${created.body.id}`).set(bearer(admin.access)).set(client(ip, roleId)).send({ role: 'operator' }).expect(200);
    const changed = await expectOnce('auth.user.role_changed', roleId, ip, ADMIN_EMAIL);
    expect(changed.data).toMatchObject({ before: { role: 'viewer' }, after: { role: 'operator' } });
    await expectOnce('auth.user.updated', roleId, ip, ADMIN_EMAIL);

    const offId = rid('deactivate');
    await request(stack.url).patch(`/api/users/${created.body.id}`).set(bearer(admin.access)).set(client(ip, offId)).send({ is_active: false }).expect(200);
    await expectOnce('auth.user.deactivated', offId, ip, ADMIN_EMAIL);
  });

  it('mfa enabled and reset, token created and revoked, password changed', async () => {
    const user = await createUser(stack.url, admin.access, 'self@e2e.test', 'operator');
    const s = await login(stack.url, user.email, user.password);
    const ip = randomIp();

    await waitFor(() => Date.now() % 30_000 < 25_000, { timeoutMs: 10_000, intervalMs: 200, what: 'a fresh TOTP step' });
    const setup = await request(stack.url).post('/api/auth/mfa/setup').set(bearer(s.access)).set(client(ip, rid('setup'))).expect(200);
    const enableId = rid('mfa');
    await request(stack.url).post('/api/auth/mfa/enable').set(bearer(s.access)).set(client(ip, enableId)).send({ code: authenticator.generate(setup.body.secret) }).expect(200);
    await expectOnce('auth.mfa.enabled', enableId, ip, user.email);
    const resetId = rid('mfareset');
    await request(stack.url).post(`/api/users/${user.id}/mfa/reset`).set(bearer(admin.access)).set(client(ip, resetId)).expect(204);
    await expectOnce('auth.mfa.reset', resetId, ip, ADMIN_EMAIL);

    const tokId = rid('token');
    const tok = await request(stack.url).post('/api/auth/tokens').set(bearer(s.access)).set(client(ip, tokId)).send({ name: 'ci' }).expect(201);
    await expectOnce('auth.token.created', tokId, ip, user.email);
    const revId = rid('revoke');
    await request(stack.url).delete(`/api/auth/tokens/${tok.body.id}`).set(bearer(s.access)).set(client(ip, revId)).expect(204);
    await expectOnce('auth.token.revoked', revId, ip, user.email);

    const pwId = rid('password');
    await request(stack.url)
      .post('/api/auth/password')
      .set(bearer(s.access))
      .set(client(ip, pwId))
      .send({ current_password: user.password, new_password: 'N3w-Passw0rd!xyz' })
      .expect(204);
    await expectOnce('auth.password.changed', pwId, ip, user.email);
  });

  it("a viewer's 403 on /api/audit and a 429 are themselves in the audit log", async () => {
    const viewer = await createUser(stack.url, admin.access, 'viewer@e2e.test', 'viewer');
    const ip = randomIp();
    const deniedId = rid('denied');
    const res = await request(stack.url).get('/api/audit').set(bearer(viewer.token)).set(client(ip, deniedId));
    expect(res.status).toBe(403);
    const denied = await expectOnce('gateway.request.denied', deniedId, ip, viewer.email);
    expect(denied.actor?.user_id).toBe(viewer.id);
    expect(denied.data).toMatchObject({ permission: 'audit:read', role: 'viewer', method: 'GET', status: 403 });

    const limitedIp = '198.51.100.200';
    let limitedId = '';
    for (let i = 0; i < 6; i++) {
      limitedId = rid(`rl${i}`);
      const r = await request(stack.url).post('/api/auth/login').set(client(limitedIp, limitedId)).send({ email: 'nobody@e2e.test', password: 'Whatever-123456' });
      if (r.status === 429) break;
    }
    const limited = await expectOnce('gateway.rate.limited', limitedId, limitedIp);
    expect(limited.data).toMatchObject({ status: 429, bucket: 'auth attempts' });
  });

  it('filters, newest-first keyset pagination and validation', async () => {
    const first = await audit({ limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.items[0].seq).toBeGreaterThan(first.items[1].seq);
    const second = await audit({ limit: 3, cursor: first.next_cursor! });
    expect(second.items[0].seq).toBeLessThan(first.items[2].seq);
    const byActor = await audit({ actor: ADMIN_EMAIL.toUpperCase(), action: 'auth.user.*', limit: 100 });
    expect(byActor.items.length).toBeGreaterThan(0);
    expect(byActor.items.every((i) => i.actor?.email === ADMIN_EMAIL && i.type.startsWith('auth.user.'))).toBe(true);
    const byText = await audit({ q: 'subject@e2e.test' });
    expect(byText.items.some((i) => i.type === 'auth.user.created')).toBe(true);
    const bad = await request(stack.url).get('/api/audit').query({ cursor: 'nonsense' }).set(bearer(admin.access));
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('AUDIT.INVALID_CURSOR');
    await request(stack.url).get('/api/audit').query({ limit: 101 }).set(bearer(admin.access)).expect(400);
  });
});

describe('exactly once under crashes and poison messages', () => {
  let nc: NatsConnection;
  let db: Client;
  beforeAll(async () => {
    nc = await connect({ servers: stack.env.NATS_URL, ...testNatsAdmin() });
    db = new Client({ connectionString: stack.db.url });
    await db.connect();
  });
  afterAll(async () => {
    await nc?.drain();
    await db?.end();
  });

  const envelope = (type: string, extra: Record<string, unknown> = {}) => ({
    id: randomUUID(),
    type,
    version: 1,
    occurred_at: new Date().toISOString(),
    source: 'e2e',
    actor: null,
    request_id: rid('direct'),
    subject: { entity_type: 'probe', entity_id: null },
    data: { probe: true },
    ...extra,
  });
  const publish = (type: string, body: unknown, headers?: Record<string, string>) => {
    const h = natsHeaders();
    for (const [k, v] of Object.entries(headers ?? {})) h.set(k, v);
    return nc.jetstream().publish(`${stack.env.EVENTS_SUBJECT_PREFIX}.${type}`, Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), { headers: h });
  };
  const countOf = async (eventId: string) =>
    Number((await db.query(`SELECT count(*)::int AS n FROM audit.records WHERE event_id = $1`, [eventId])).rows[0].n);

  it('a crash after the insert and before the ack leaves exactly one record after restart', async () => {
    const ev = envelope('e2e.probe.crash');
    crashOnce = ev.id;
    await publish(ev.type, ev);
    await waitFor(() => crashed === 1, { timeoutMs: 15_000, what: 'the injected crash' });
    expect(await countOf(ev.id)).toBe(1); // committed before the "crash"
    await stack.restart('audit', { consumer: {} });
    const after = envelope('e2e.probe.after');
    await publish(after.type, after);
    await waitFor(async () => (await countOf(after.id)) === 1, { timeoutMs: 15_000, what: 'a later event recorded after restart' });
    // the unacknowledged message was delivered again and skipped by the inbox
    await waitFor(async () => {
      const info = await (await nc.jetstreamManager()).consumers.info(stack.env.EVENTS_STREAM!, 'audit-recorder');
      return info.num_ack_pending === 0 && info.num_pending === 0;
    }, { timeoutMs: 15_000, what: 'the redelivery to be acknowledged' });
    expect(await countOf(ev.id)).toBe(1);
    const inbox = await db.query(`SELECT count(*)::int AS n FROM audit.inbox WHERE event_id = $1`, [ev.id]);
    expect(inbox.rows[0].n).toBe(1);
  });

  it('a malformed message is dead-lettered, counted and terminated; the next event is still recorded with its trace id', async () => {
    const invalid = async () => {
      const m = await metricsRegistry.getSingleMetric('opsdesk_invalid_messages_total')?.get();
      return (m?.values ?? []).filter((v) => v.labels.consumer === 'audit-recorder').reduce((s, v) => s + v.value, 0);
    };
    const before = await invalid();
    await publish('e2e.junk.text', 'this is {not json');
    await publish('e2e.junk.shape', { id: 'not-a-uuid', type: 'X' });
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const ok = envelope('e2e.probe.valid');
    await publish(ok.type, ok, { traceparent: `00-${traceId}-00f067aa0ba902b7-01` });
    await waitFor(async () => (await countOf(ok.id)) === 1, { timeoutMs: 15_000, what: 'the valid event after the poison ones' });
    const dl = await db.query(`SELECT reason, subject FROM audit.dead_letters WHERE subject LIKE '%.e2e.junk.%' ORDER BY id`);
    expect(dl.rows.map((r) => r.reason)).toEqual(['invalid', 'invalid']);
    expect(await invalid()).toBe(before + 2);
    const rec = await db.query(`SELECT trace_id FROM audit.records WHERE event_id = $1`, [ok.id]);
    expect(rec.rows[0].trace_id).toBe(traceId);
    const page = await audit({ action: 'e2e.junk.*' });
    expect(page.items).toHaveLength(0);
  });

  it('an event whose source is not the login that published it is dead-lettered as invalid, never recorded', async () => {
    // inventory's own login may publish <prefix>.inventory.… (and nothing else): the subject names the producer
    const inventory = await connect({ servers: stack.env.NATS_URL, ...testNatsLogin('inventory') });
    try {
      const js = inventory.jetstream();
      const forged = envelope('inventory.host.updated', { source: 'auth' });
      const typeSwap = envelope('auth.user.deleted', { source: 'inventory' }); // type of another service, own subject
      await js.publish(`${stack.env.EVENTS_SUBJECT_PREFIX}.inventory.host.updated`, Buffer.from(JSON.stringify(forged)));
      await js.publish(`${stack.env.EVENTS_SUBJECT_PREFIX}.inventory.host.updated`, Buffer.from(JSON.stringify(typeSwap)));
      const honest = envelope('inventory.host.updated', { source: 'inventory' });
      await js.publish(`${stack.env.EVENTS_SUBJECT_PREFIX}.inventory.host.updated`, Buffer.from(JSON.stringify(honest)));
      await waitFor(async () => (await countOf(honest.id)) === 1, { timeoutMs: 15_000, what: 'the honest event after the forged ones' });
      const dl = await db.query(`SELECT event_id, reason, error FROM audit.dead_letters WHERE event_id = ANY($1::text[]) ORDER BY id`, [[forged.id, typeSwap.id]]);
      expect(dl.rows.map((r) => [r.event_id, r.reason])).toEqual([
        [forged.id, 'invalid'],
        [typeSwap.id, 'invalid'],
      ]);
      expect(dl.rows[0].error).toMatch(/source auth is not the producer inventory/);
      expect(await countOf(forged.id)).toBe(0);
      expect(await countOf(typeSwap.id)).toBe(0);
    } finally {
      await inventory.close();
    }
  });
});
