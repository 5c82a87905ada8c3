import { randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { PATTERN_METADATA } from '@nestjs/microservices/constants';
import request from 'supertest';
import { ContextSigner, IS_PUBLIC, PERMISSION, generateContextKeyPair, rpcContextSigner, type RpcContextSigningFn } from '@opsdesk/authn';
import { ErrorCodes, InventoryRpc, Permissions, AuthRpc, rpcAudience, type RpcContext } from '@opsdesk/contracts';
import { RpcClient, type RpcCallError } from '@opsdesk/messaging';
import { testNatsAdminCredentials } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, startStack, waitFor, type Stack } from './support/stack';

/**
 * Trust inside the system (SPEC §7): every RPC carries a caller context signed by the gateway (or, for the
 * patterns that allow it, by a calling service's own key), and every service refuses — and audits — one
 * that is missing, forged, expired or addressed elsewhere. The attack this closes: with nothing but
 * network access to NATS and the project's own RPC client, `auth.users.list` with a null actor listed
 * every user and `auth.tokens.create` "as the admin" minted a working admin API token.
 * Real services, real NATS, real Postgres, real audit trail.
 */
let stack: Stack;
let admin: { access: string };
let adminId: string;
const clients: RpcClient[] = [];

/**
 * The attacker is on the broker: since NATS requires logins, that means holding a NATS login that may send
 * requests (a leaked gateway login, or the harness's own here). The signed caller context is the second,
 * independent barrier, tested as if the first had fallen.
 */
async function rpcClient(name: string, signContext?: RpcContextSigningFn): Promise<RpcClient> {
  const c = new RpcClient({
    servers: [stack.env.NATS_URL as string],
    subjectPrefix: stack.env.RPC_SUBJECT_PREFIX as string,
    timeoutMs: 10_000,
    name,
    signContext,
    credentials: testNatsAdminCredentials(),
  });
  await c.connect();
  clients.push(c);
  return c;
}

/** The answer, or the code of the refusal. */
function outcome(p: Promise<unknown>): Promise<{ answered: unknown } | { code: string }> {
  return p.then(
    (answered) => ({ answered }),
    (e: RpcCallError) => ({ code: e.code }),
  );
}

const rid = (label: string) => `rpcctx-${label}-${randomBytes(4).toString('hex')}`;
const gatewaySigner = () => new ContextSigner('gateway', stack.env.GATEWAY_CONTEXT_PRIVATE_KEY as string);

interface AuditItem {
  type: string;
  source: string;
  actor: { user_id: string | null; email: string | null } | null;
  request_id: string | null;
  entity_type: string;
  entity_id: string | null;
  data: Record<string, unknown>;
}

async function auditOf(action: string): Promise<AuditItem[]> {
  const res = await request(stack.url).get('/api/audit').query({ action, limit: 100 }).set(bearer(admin.access)).expect(200);
  return res.body.items as AuditItem[];
}

/** Waits for the `<service>.rpc.denied` record of one refused call, found by the request id it used. */
async function deniedRecord(service: string, requestId: string): Promise<AuditItem> {
  return waitFor(
    async () => (await auditOf(`${service}.rpc.denied`)).find((i) => i.request_id === requestId || i.data.claimed_request_id === requestId) ?? null,
    { timeoutMs: 15_000, intervalMs: 100, what: `${service}.rpc.denied for ${requestId}` },
  );
}

beforeAll(async () => {
  stack = await startStack('rpcctx', { services: ['auth', 'inventory', 'audit'], env: { RATE_LIMIT_API_PER_MINUTE: '100000' } });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  adminId = (await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).expect(200)).body.id;
}, 120_000);

afterAll(async () => {
  for (const c of clients) await c.onModuleDestroy().catch(() => undefined);
  await stack?.stop();
});

describe('every RPC handler declares who may call it', () => {
  const SERVICES = join(__dirname, '..', 'services');
  const controllers = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? controllers(join(dir, e.name)) : e.name.endsWith('.controller.ts') ? [join(dir, e.name.replace(/\.ts$/, ''))] : [],
    );

  it('is @Public or names a SPEC §3 permission, and listens only on its own service’s patterns', () => {
    const handlers: Array<{ service: string; pattern: string; declared: string | null }> = [];
    for (const service of readdirSync(SERVICES)) {
      for (const file of controllers(join(SERVICES, service, 'src'))) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports -- controllers are found by convention
        const mod = require(file) as Record<string, unknown>;
        for (const exported of Object.values(mod)) {
          if (typeof exported !== 'function') continue;
          const proto = exported.prototype as Record<string, unknown>;
          for (const name of Object.getOwnPropertyNames(proto)) {
            const method = proto[name];
            if (typeof method !== 'function') continue;
            const patterns = Reflect.getMetadata(PATTERN_METADATA, method) as Array<string | object> | undefined;
            for (const pattern of patterns ?? []) {
              const isPublic = Reflect.getMetadata(IS_PUBLIC, method) === true;
              const permission = (Reflect.getMetadata(PERMISSION, method) as string | undefined) ?? null;
              handlers.push({ service, pattern: String(pattern), declared: isPublic ? 'public' : permission });
            }
          }
        }
      }
    }
    expect(handlers.length).toBeGreaterThanOrEqual(40);
    expect(handlers.filter((h) => h.declared === null)).toEqual([]);
    const known = new Set<string>(['public', ...Object.values(Permissions)]);
    expect(handlers.filter((h) => !known.has(h.declared as string))).toEqual([]);
    expect(handlers.filter((h) => rpcAudience(h.pattern) !== h.service)).toEqual([]);
    // the only public patterns: those called before anybody is authenticated, and the two that serve public keys
    // (access-token JWKS, audit checkpoint keys) — still callable only with the gateway's signature
    expect(handlers.filter((h) => h.declared === 'public').map((h) => h.pattern).sort()).toEqual([
      'audit.public_keys',
      'auth.jwks',
      'auth.login',
      'auth.refresh',
      'auth.tokens.verify',
    ]);
  });
});

describe('the attack: broker access only, with the project’s own RPC client', () => {
  it('auth.users.list with a null actor is refused and audited, without naming anybody as its actor', async () => {
    const outsider = await rpcClient('outsider');
    const requestId = rid('list');
    expect(await outcome(outsider.call(AuthRpc.USERS_LIST, {}, { actor: null, request_id: requestId }))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    const record = await deniedRecord('auth', requestId);
    expect(record).toMatchObject({ type: 'auth.rpc.denied', source: 'auth', entity_type: 'rpc', entity_id: 'auth.users.list', request_id: null });
    expect(record.data).toMatchObject({ pattern: 'auth.users.list', reason: 'missing' });
  });

  it('auth.tokens.create "as the admin" is refused: no token exists, so there is nothing to take to the gateway', async () => {
    const outsider = await rpcClient('outsider-token');
    const requestId = rid('token');
    const claimed: RpcContext = {
      actor: { user_id: adminId, email: ADMIN_EMAIL, ip: null, user_agent: null },
      request_id: requestId,
      principal: { user_id: adminId, role: 'admin' },
    };
    const r = await outcome(outsider.call(AuthRpc.TOKENS_CREATE, { name: 'broker-attack', expires_in_days: 30 }, claimed));
    expect(r).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    const mine = await request(stack.url).get('/api/auth/tokens').set(bearer(admin.access)).expect(200);
    expect((mine.body.items as Array<{ name: string }>).map((t) => t.name)).not.toContain('broker-attack');
    // the audit trail keeps what was claimed, but never records the admin as the actor of a forged call
    const record = await deniedRecord('auth', requestId);
    expect(record.actor?.user_id ?? null).toBeNull();
    expect(record.data).toMatchObject({ reason: 'missing', claimed_actor: { user_id: adminId }, claimed_principal: { user_id: adminId, role: 'admin' } });
  });
});

describe('a missing, forged, expired or wrongly addressed context is refused and audited', () => {
  const adminCtx = (requestId: string): RpcContext => ({
    actor: { user_id: adminId, email: ADMIN_EMAIL, ip: '203.0.113.9', user_agent: 'rpc-context-e2e' },
    request_id: requestId,
    principal: { user_id: adminId, role: 'admin' },
  });

  it('forged: signed as "gateway" with a key that is not the gateway’s', async () => {
    const forger = await rpcClient('forger', rpcContextSigner(new ContextSigner('gateway', generateContextKeyPair().privateKey)));
    const requestId = rid('forged');
    expect(await outcome(forger.call(AuthRpc.USERS_LIST, {}, adminCtx(requestId)))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', requestId)).data).toMatchObject({ reason: 'bad_signature', issuer: 'gateway' });
  });

  it('expired: a genuine gateway signature whose time is up', async () => {
    const late = await rpcClient('late', rpcContextSigner(gatewaySigner(), -1));
    const requestId = rid('expired');
    expect(await outcome(late.call(AuthRpc.USERS_LIST, {}, adminCtx(requestId)))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', requestId)).data).toMatchObject({ reason: 'expired' });
  });

  it('wrongly addressed: a context signed for inventory replayed at auth, one for users.get replayed at users.delete', async () => {
    const sign = rpcContextSigner(gatewaySigner());
    const toInventory = await rpcClient('misdirected', (_pattern, data, ctx) => sign(InventoryRpc.HOSTS_LIST, data, ctx));
    const first = rid('audience');
    expect(await outcome(toInventory.call(AuthRpc.USERS_LIST, {}, adminCtx(first)))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', first)).data).toMatchObject({ reason: 'wrong_audience', claimed_audience: 'inventory' });

    const asGet = await rpcClient('repurposed', (_pattern, data, ctx) => sign(AuthRpc.USERS_GET, data, ctx));
    const second = rid('pattern');
    const target = { id: adminId };
    expect(await outcome(asGet.call(AuthRpc.USERS_DELETE, target, adminCtx(second)))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', second)).data).toMatchObject({ reason: 'wrong_pattern', claimed_pattern: 'auth.users.get' });
    await request(stack.url).get(`/api/users/${adminId}`).set(bearer(admin.access)).expect(200); // still there
  });

  it('lifted onto other data: a signature over one request body does not cover another', async () => {
    const sign = rpcContextSigner(gatewaySigner());
    const swapper = await rpcClient('swapper', (pattern, _data, ctx) => sign(pattern, { name: 'harmless', expires_in_days: 1 }, ctx));
    const requestId = rid('data');
    expect(await outcome(swapper.call(AuthRpc.TOKENS_CREATE, { name: 'swapped', expires_in_days: 365 }, adminCtx(requestId)))).toEqual({
      code: ErrorCodes.RPC_CONTEXT_INVALID,
    });
    expect((await deniedRecord('auth', requestId)).data).toMatchObject({ reason: 'data_mismatch' });
  });

  it('a service key is only good where it is listed: artifacts’ key on inventory.hosts.create and on auth', async () => {
    const artifacts = await rpcClient('as-artifacts', rpcContextSigner(new ContextSigner('artifacts', stack.env.ARTIFACTS_CONTEXT_PRIVATE_KEY as string)));
    const create = rid('svc-create');
    const host = { hostname: `svc-${randomBytes(3).toString('hex')}`, ip: '10.77.0.1', environment: 'dev' as const };
    expect(await outcome(artifacts.call(InventoryRpc.HOSTS_CREATE, host, adminCtx(create)))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('inventory', create)).data).toMatchObject({ reason: 'caller_not_allowed', issuer: 'artifacts' });
    const users = rid('svc-auth');
    expect(await outcome(artifacts.call(AuthRpc.USERS_LIST, {}, adminCtx(users)))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', users)).data).toMatchObject({ reason: 'unknown_issuer', issuer: 'artifacts' });
    // where it is listed (an upload checking its host) it works, for the user it vouches for
    const lookup = await outcome(artifacts.call(InventoryRpc.HOSTS_GET, { id: '00000000-0000-4000-8000-000000000000' }, adminCtx(rid('svc-get'))));
    expect(lookup).toEqual({ code: 'INVENTORY.HOST_NOT_FOUND' });
  });

  it('a public pattern (login) still needs the gateway’s signature', async () => {
    const outsider = await rpcClient('outsider-login');
    const requestId = rid('login');
    const r = await outcome(outsider.call(AuthRpc.LOGIN, { email: ADMIN_EMAIL, password: ADMIN_PASSWORD }, { actor: null, request_id: requestId }));
    expect(r).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', requestId)).data).toMatchObject({ pattern: 'auth.login', reason: 'missing' });
  });
});

describe('defence in depth: state-changing RPCs re-check the signed role', () => {
  it('a genuine gateway context for a viewer cannot create a user or a host; it is refused and audited with the verified actor', async () => {
    const viewer = await createUser(stack.url, admin.access, `viewer-${randomBytes(3).toString('hex')}@rpcctx.test`, 'viewer');
    const gateway = await rpcClient('gateway-key', rpcContextSigner(gatewaySigner()));
    const ctx = (requestId: string): RpcContext => ({
      actor: { user_id: viewer.id, email: viewer.email, ip: '203.0.113.10', user_agent: 'rpc-context-e2e' },
      request_id: requestId,
      principal: { user_id: viewer.id, role: 'viewer' },
    });
    const userReq = rid('role-user');
    const newUser = { email: `nope-${randomBytes(3).toString('hex')}@rpcctx.test`, password: 'Us3r-Passw0rd!x', role: 'admin' as const };
    expect(await outcome(gateway.call(AuthRpc.USERS_CREATE, newUser, ctx(userReq)))).toEqual({ code: ErrorCodes.FORBIDDEN });
    const record = await deniedRecord('auth', userReq);
    expect(record).toMatchObject({ request_id: userReq, actor: { user_id: viewer.id } });
    expect(record.data).toMatchObject({ reason: 'forbidden', permission: 'users:write', role: 'viewer' });

    const hostReq = rid('role-host');
    const host = { hostname: `viewer-${randomBytes(3).toString('hex')}`, ip: '10.77.0.2', environment: 'dev' as const };
    expect(await outcome(gateway.call(InventoryRpc.HOSTS_CREATE, host, ctx(hostReq)))).toEqual({ code: ErrorCodes.FORBIDDEN });
    expect((await deniedRecord('inventory', hostReq)).data).toMatchObject({ reason: 'forbidden', permission: 'hosts:write', role: 'viewer' });
    // a principal is required wherever the pattern is not public
    const anon = rid('anon');
    expect(await outcome(gateway.call(AuthRpc.ME, {}, { actor: null, request_id: anon, principal: null }))).toEqual({ code: ErrorCodes.RPC_CONTEXT_INVALID });
    expect((await deniedRecord('auth', anon)).data).toMatchObject({ reason: 'principal_required' });
  });
});

describe('through the gateway nothing changes', () => {
  it('the admin lists users and creates a host; handlers act for the signed actor', async () => {
    await request(stack.url).get('/api/users').set(bearer(admin.access)).expect(200);
    const created = await request(stack.url)
      .post('/api/hosts')
      .set(bearer(admin.access))
      .send({ hostname: `gw-${randomBytes(3).toString('hex')}`, ip: '10.77.0.3', environment: 'dev' })
      .expect(201);
    const record = await waitFor(async () => (await auditOf('inventory.host.created')).find((i) => i.entity_id === created.body.id) ?? null, {
      timeoutMs: 15_000,
      intervalMs: 100,
      what: 'inventory.host.created in the audit trail',
    });
    expect(record.actor).toMatchObject({ user_id: adminId, email: ADMIN_EMAIL });
    // and the whole run raised no refusal for a genuine request
    expect((await auditOf('auth.rpc.denied')).filter((i) => i.request_id !== null && !String(i.request_id).startsWith('rpcctx-'))).toEqual([]);
  });
});
