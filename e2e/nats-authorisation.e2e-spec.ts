// SPEC §7 "Trust inside the system", NATS part: on a real nats-server configured from the ONE permission
// model (libs/messaging/src/nats-permissions.ts) with the PRODUCTION names (rpc., opsdesk., OPSDESK_EVENTS,
// OPSDESK_REVOCATIONS), network access alone gives nothing, and each service's login can do exactly its role.
import request from 'supertest';
import { connect, headers as natsHeaders, type NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { DEFAULT_NATS_NAMES } from '@opsdesk/contracts';
import { connectNats, ensureEventsStream, provisionNats, type NatsHandles } from '@opsdesk/messaging';
import { NATS_PROVISION_USER, startOwnNatsServer, testNatsAdmin, testNatsLogin, waitFor, type OwnNatsServer } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, login, startStack, type Stack } from './support/stack';

const N = DEFAULT_NATS_NAMES;
const KV_SUBJECT = `$KV.${N.bucket}`;

let server: OwnNatsServer;
const open: NatsConnection[] = [];

async function as(user: string): Promise<NatsConnection> {
  const nc = await connect({ servers: server.url, reconnect: false, name: `authz-${user}`, ...testNatsLogin(user) });
  open.push(nc);
  return nc;
}

/** Resolves with the first permission error the server reports to this connection (or null in time). */
function permissionError(nc: NatsConnection, timeoutMs = 3000): Promise<string | null> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(null), timeoutMs);
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'error' && /PERMISSIONS_VIOLATION/i.test(String(s.data))) {
          clearTimeout(t);
          const ctx = (s as unknown as { permissionContext?: { operation: string; subject: string } }).permissionContext;
          resolve(ctx ? `${ctx.operation} ${ctx.subject}` : String(s.data));
          return;
        }
      }
    })();
  });
}

/** A request that must be refused by the broker itself (not time out, not reach a responder). */
async function expectRequestRefused(nc: NatsConnection, subject: string): Promise<void> {
  const refused = permissionError(nc);
  const outcome = await nc.request(subject, Buffer.from('{}'), { timeout: 2000 }).then(
    () => 'answered',
    (err: { code?: string }) => String(err.code),
  );
  expect(outcome).not.toBe('answered');
  expect(await refused).toBe(`publish ${subject}`);
}

async function expectPublishRefused(nc: NatsConnection, subject: string): Promise<void> {
  const refused = permissionError(nc);
  nc.publish(subject, Buffer.from('{}'));
  await nc.flush();
  expect(await refused).toBe(`publish ${subject}`);
}

beforeAll(async () => {
  server = await startOwnNatsServer({ names: N });
  const prov: NatsHandles = await connectNats([server.url], 'authz-provision', testNatsLogin(NATS_PROVISION_USER));
  await provisionNats(prov, { name: N.stream, subjectPrefix: N.eventPrefix, revocationBucket: N.bucket, revocationTtlMs: 3600_000 });
  await prov.nc.close();
});

afterAll(async () => {
  for (const nc of open) await nc.close().catch(() => undefined);
  await server?.cleanup();
});

describe('NATS authorisation (production names, real nats-server)', () => {
  it('a client without credentials, or with a wrong password, cannot connect', async () => {
    const anon = await connect({ servers: server.url, reconnect: false, timeout: 2000 }).then(
      () => 'connected',
      (err: { code?: string }) => String(err.code),
    );
    expect(anon).toBe('AUTHORIZATION_VIOLATION');
    const wrong = await connect({ servers: server.url, reconnect: false, timeout: 2000, user: 'inventory', pass: 'guess' }).then(
      () => 'connected',
      (err: { code?: string }) => String(err.code),
    );
    expect(wrong).toBe('AUTHORIZATION_VIOLATION');
  });

  it('the inventory login cannot call rpc.auth.>; the gateway can (same responder)', async () => {
    const auth = await as('auth');
    const sub = auth.subscribe(`${N.rpcPrefix}.auth.>`, { queue: 'auth', callback: (_e, m) => m.respond(Buffer.from('"pong"')) });
    await auth.flush();
    const gateway = await as('gateway');
    const reply = await gateway.request(`${N.rpcPrefix}.auth.login`, Buffer.from('{}'), { timeout: 2000 });
    expect(reply.string()).toBe('"pong"');
    const inventory = await as('inventory');
    await expectRequestRefused(inventory, `${N.rpcPrefix}.auth.login`);
    await expectRequestRefused(inventory, `${N.rpcPrefix}.auth.users.list`);
    // nor can it pose as auth to receive auth's requests
    const refused = permissionError(inventory);
    inventory.subscribe(`${N.rpcPrefix}.auth.>`);
    expect(await refused).toBe(`subscription ${N.rpcPrefix}.auth.>`);
    sub.unsubscribe();
  });

  it('the inventory login cannot publish opsdesk.auth.> or opsdesk.gateway.> (nothing reaches the stream); its own events it can', async () => {
    const inventory = await as('inventory');
    await expectPublishRefused(inventory, `${N.eventPrefix}.auth.user.deleted`);
    await expectPublishRefused(inventory, `${N.eventPrefix}.gateway.request.denied`);
    const js = inventory.jetstream();
    const forged = await js.publish(`${N.eventPrefix}.auth.logout`, Buffer.from('{}')).then(
      () => 'stored',
      (err: { code?: string }) => String(err.code),
    );
    expect(forged).not.toBe('stored');
    const own = await js.publish(`${N.eventPrefix}.inventory.host.updated`, Buffer.from('{}'));
    expect(own.stream).toBe(N.stream);
    const admin = await connect({ servers: server.url, ...testNatsAdmin() });
    open.push(admin);
    const info = await (await admin.jetstreamManager()).streams.info(N.stream);
    expect(info.state.subjects ?? {}).toEqual({});
    const bySubject = await (await admin.jetstreamManager()).streams.info(N.stream, { subjects_filter: '>' });
    expect(Object.keys(bySubject.state.subjects ?? {})).toEqual([`${N.eventPrefix}.inventory.host.updated`]);
  });

  it('only auth writes the revocation bucket: inventory and gateway cannot put or delete, the gateway reads', async () => {
    const auth = await as('auth');
    const authKv = await auth.jetstream().views.kv(N.bucket);
    await authKv.put('sid.s1', JSON.stringify({ reason: 'auth.logout' }));

    for (const user of ['inventory', 'gateway']) {
      const nc = await as(user);
      await expectPublishRefused(nc, `${KV_SUBJECT}.sid.s1`);
      const js = nc.jetstream();
      const put = await js.publish(`${KV_SUBJECT}.sid.s2`, Buffer.from('{}')).then(
        () => 'stored',
        (err: { code?: string }) => String(err.code),
      );
      expect(put).not.toBe('stored');
      // deleting a key is a publish with a KV-Operation header: refused the same way
      const h = natsHeaders();
      h.set('KV-Operation', 'DEL');
      const del = await js.publish(`${KV_SUBJECT}.sid.s1`, Buffer.from(''), { headers: h }).then(
        () => 'deleted',
        (err: { code?: string }) => String(err.code),
      );
      expect(del).not.toBe('deleted');
    }
    // inventory cannot even read it
    const inventory = await as('inventory');
    const readByInventory = await inventory.jetstream().views.kv(N.bucket).then(
      () => 'bound',
      () => 'refused',
    );
    expect(readByInventory).toBe('refused');
    // the gateway watches it: the entry is there, unchanged, and no s2 was written
    const gateway = await as('gateway');
    const kv = await gateway.jetstream().views.kv(N.bucket);
    const seen: string[] = [];
    const w = await kv.watch({ key: '>' });
    const it = w[Symbol.asyncIterator]();
    await waitFor(async () => {
      const next = await Promise.race([it.next(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
      if (next && !next.done) seen.push(`${next.value.operation} ${next.value.key}`);
      return seen.length >= 1;
    }, { timeoutMs: 5000, what: 'the gateway watch to deliver the entry' });
    w.stop();
    expect(seen).toEqual(['PUT sid.s1']);
    // auth itself only writes (it has no read rights); the harness admin checks the bucket
    const admin = await connect({ servers: server.url, ...testNatsAdmin() });
    open.push(admin);
    const adminKv = await admin.jetstream().views.kv(N.bucket);
    expect(await adminKv.get('sid.s2')).toBeNull();
    expect((await adminKv.get('sid.s1'))?.operation).toBe('PUT');
  });

  it('a service that finds the stream different from its configuration says to provision, and changes nothing', async () => {
    const inventory: NatsHandles = await connectNats([server.url], 'authz-inventory-ensure', testNatsLogin('inventory'));
    try {
      const attempt = ensureEventsStream(inventory.jsm, { name: N.stream, subjectPrefix: N.eventPrefix, duplicateWindowMs: 9 * 60_000 });
      await expect(attempt).rejects.toThrow(/NATS stream OPSDESK_EVENTS is missing or differs .* run `npm run provision:nats`/);
      expect((await inventory.jsm.streams.info(N.stream)).config.duplicate_window).toBe(5 * 60_000 * 1_000_000);
    } finally {
      await inventory.nc.close();
    }
  });

  it('services can neither change the stream nor widen or hijack consumers', async () => {
    const inventory = await as('inventory');
    const jsm = await inventory.jetstreamManager();
    expect((await jsm.streams.info(N.stream)).config.name).toBe(N.stream); // looking is allowed
    for (const attempt of [
      () => jsm.streams.purge(N.stream),
      () => jsm.streams.delete(N.stream),
      () => jsm.streams.update(N.stream, { max_age: 1_000_000_000 }),
      () => jsm.streams.deleteMessage(N.stream, 1),
    ]) {
      const r = await attempt().then(
        () => 'done',
        (err: { code?: string; message?: string }) => String(err.code ?? err.message),
      );
      expect(r).not.toBe('done');
    }
    // artifacts may run its host-cleanup consumer on inventory.host.deleted only, not on everything
    const artifacts = await (await as('artifacts')).jetstreamManager();
    const widened = await artifacts.consumers
      .add(N.stream, { durable_name: 'artifacts-host-cleanup', filter_subject: `${N.eventPrefix}.>` })
      .then(() => 'created', () => 'refused');
    expect(widened).toBe('refused');
    const pinned = await artifacts.consumers.add(N.stream, { durable_name: 'artifacts-host-cleanup', filter_subject: `${N.eventPrefix}.inventory.host.deleted` });
    expect(pinned.name).toBe('artifacts-host-cleanup');
    // and nobody else may pull from it
    const stolen = await (await (await as('inventory')).jetstreamManager()).consumers.info(N.stream, 'artifacts-host-cleanup').then(
      () => 'read',
      () => 'refused',
    );
    expect(stolen).toBe('refused');
    // replies go to each login's own inbox prefix: inventory cannot listen on the gateway's replies
    const refused = permissionError(inventory);
    inventory.subscribe('_INBOX_gateway.>');
    expect(await refused).toBe('subscription _INBOX_gateway.>');
  });
});

describe('the whole system runs under the production permissions', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('authzprod', {
      services: ['auth', 'inventory', 'audit', 'artifacts'],
      natsUrl: server.url,
      env: { EVENTS_STREAM: N.stream, EVENTS_SUBJECT_PREFIX: N.eventPrefix, RPC_SUBJECT_PREFIX: N.rpcPrefix, REVOCATION_BUCKET: N.bucket },
    });
  }, 120_000);
  afterAll(async () => stack?.stop());

  it('login, RPCs, events, audit and logout revocation all work with each service on its own login', async () => {
    const admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    const host = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(admin.access))
      .send({ hostname: `authz-${randomUUID().slice(0, 8)}`, ip: '10.99.0.1', environment: 'dev', os: 'linux', criticality: 'low' });
    expect(host.status).toBe(201);
    await request(stack.url).delete(`/api/hosts/${host.body.id}`).set(bearer(admin.access)).set('If-Match', '"1"').expect(204);
    // the audit recorder got the events (its consumer, pinned to opsdesk.>), with the producer as source
    const pg = new Client({ connectionString: stack.db.url });
    await pg.connect();
    try {
      await waitFor(async () => {
        const r = await pg.query(`SELECT type, source FROM audit.records WHERE type = 'inventory.host.deleted'`);
        return r.rowCount === 1 && r.rows[0].source === 'inventory';
      }, { timeoutMs: 15_000, what: 'the host deletion in the audit trail' });
      // artifacts consumed it too (its own durable, inventory.host.deleted only)
      await waitFor(async () => {
        const r = await pg.query(`SELECT count(*)::int AS n FROM artifacts.inbox WHERE consumer = 'artifacts-host-cleanup'`);
        return r.rows[0].n === 1;
      }, { timeoutMs: 15_000, what: 'artifacts to consume the host deletion' });
    } finally {
      await pg.end();
    }
    await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).expect(200);
    await request(stack.url).post('/api/auth/logout').set(bearer(admin.access)).expect(204);
    // auth wrote the revocation, the gateway's watch applied it
    await waitFor(async () => (await request(stack.url).get('/api/auth/me').set(bearer(admin.access))).status === 401, {
      timeoutMs: 5000,
      what: 'the logged-out token to be refused',
    });
  });
});
