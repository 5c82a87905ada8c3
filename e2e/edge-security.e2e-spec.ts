/**
 * Issue 11, "Fix": each control at the edge through a real gateway and auth service (startStack).
 * - client IP only through TRUST_PROXY's proxies; a client rotating X-Forwarded-For elsewhere keeps one bucket;
 * - auth attempts limited per (IP, account), per IP and per account failures (a NAT'd office is not one bucket);
 * - wrong TOTP / recovery codes lock (no bypass); a password lock is bypassed by password + a correct code;
 * - refused requests are audited aggregated per (source IP, route, reason) and window, with a count;
 * - API token scopes (at most the owner's role), tokens never manage tokens / password / MFA, and a password
 *   change, a role change or a deactivation revokes the owner's tokens;
 * - sessions end at their absolute lifetime however often they are refreshed.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { connect } from 'nats';
import { Client } from 'pg';
import request from 'supertest';
import { authenticator } from 'otplib';
import { TEST_NATS_URL, natsServiceEnv, readStream, serviceEnv, testNatsAdmin } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, randomIp, serviceModule, startStack, urlOf, waitFor, type Stack } from './support/stack';

// the gateway's own bootstrap, loaded like the stack loads every service (a second, differently configured gateway)
const bootstrapGateway = (env: NodeJS.ProcessEnv, opts: Record<string, unknown>) => serviceModule('gateway').bootstrapFromEnv(env, opts);

let stack: Stack;
let admin: { access: string; refresh: string };
let untrusting: NestFastifyApplication | undefined;

beforeAll(async () => {
  // one-second audit aggregation windows, so the summaries come within the test
  stack = await startStack('edge-security', { env: { SECURITY_EVENT_WINDOW_SECONDS: '1' } });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
}, 120_000);

afterAll(async () => {
  await untrusting?.close();
  await stack?.stop();
});

const loginAs = (email: string, password: string, ip: string, extra: Record<string, string> = {}) =>
  request(stack.url).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email, password, ...extra });

async function sql<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
  const c = new Client({ connectionString: stack.db.url });
  await c.connect();
  try {
    return (await c.query(text, params)).rows as T[];
  } finally {
    await c.end();
  }
}

async function gatewayEvents(type: string) {
  const nc = await connect({ servers: TEST_NATS_URL, ...testNatsAdmin() });
  try {
    return (await readStream(await nc.jetstreamManager(), stack.env.EVENTS_STREAM as string)).filter((m) => m.event.type === type).map((m) => m.event);
  } finally {
    await nc.close();
  }
}

describe('client IP (TRUST_PROXY)', () => {
  beforeAll(async () => {
    // a second replica that trusts no proxy: its X-Forwarded-For is the client's own claim. It stays up until the
    // stack stops: gateways in one process share passport's strategy registry (the last one booted wins), so
    // closing it early would leave the first replica with a stopped revocation store.
    untrusting = await bootstrapGateway({ ...serviceEnv({ env: stack.env, logins: stack.logins }, 'gateway'), ...natsServiceEnv('gateway'), TRUST_PROXY: '' }, { quiet: true });
  });

  it('a gateway that does not trust the peer ignores X-Forwarded-For: rotating it does not give fresh login buckets', async () => {
    const url = urlOf(untrusting!);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await request(url).post('/api/auth/login').set('X-Forwarded-For', `198.51.100.${i + 1}`).send({ email: 'rotate@e2e.test', password: 'Wrong-Passw0rd!' });
      statuses.push(r.status);
    }
    expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
  });

  it('TRUST_PROXY=true (trust every hop) is refused at boot, naming the variable', () => {
    expect(() => bootstrapGateway({ ...serviceEnv({ env: stack.env, logins: stack.logins }, 'gateway'), ...natsServiceEnv('gateway'), TRUST_PROXY: 'true' }, { quiet: true })).toThrow(
      /TRUST_PROXY must list the trusted proxy addresses/,
    );
  });
});

describe('login limits', () => {
  it('per (IP, account): colleagues behind one address keep their own bucket', async () => {
    const ip = randomIp();
    const a: number[] = [];
    for (let i = 0; i < 6; i++) a.push((await loginAs('nat-a@e2e.test', 'Wrong-Passw0rd!', ip)).status);
    expect(a).toEqual([401, 401, 401, 401, 401, 429]);
    // same address, another account: not limited by the first one's attempts
    expect((await loginAs('nat-b@e2e.test', 'Wrong-Passw0rd!', ip)).status).toBe(401);
  });

  it('per account across addresses: spraying one account from many IPs stops at 10 failures a minute; a login with a second factor still gets through', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await loginAs('sprayed@e2e.test', 'Wrong-Passw0rd!', `192.0.2.${i + 1}`)).status);
    expect(statuses.slice(0, 10).every((s) => s === 401)).toBe(true);
    const refused = await loginAs('sprayed@e2e.test', 'Wrong-Passw0rd!', '192.0.2.200');
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('GATEWAY.RATE_LIMITED');
    // the legitimate MFA user keeps a way in: an attempt carrying a code reaches auth (which answers it)
    expect((await loginAs('sprayed@e2e.test', 'Wrong-Passw0rd!', '192.0.2.201', { totp_code: '123456' })).status).toBe(401);
  });
});

describe('lockout', () => {
  const totp = authenticator.clone({ window: 1, step: 30 });
  const codeAt = (secret: string, offsetSteps: number) => totp.clone({ epoch: Date.now() + offsetSteps * 30_000 }).generate(secret);

  async function mfaUser(email: string): Promise<{ email: string; password: string; secret: string; recovery: string[] }> {
    const u = await createUser(stack.url, admin.access, email, 'admin');
    const setup = await request(stack.url).post('/api/auth/mfa/setup').set(bearer(u.token)).set('X-Forwarded-For', randomIp()).expect(200);
    const secret: string = setup.body.secret;
    const enabled = await request(stack.url).post('/api/auth/mfa/enable').set(bearer(u.token)).set('X-Forwarded-For', randomIp()).send({ code: codeAt(secret, -1) }).expect(200);
    return { email, password: u.password, secret, recovery: enabled.body.recovery_codes };
  }

  it('wrong TOTP and recovery codes lock the account, and that lock has no bypass', async () => {
    await waitFor(() => Date.now() % 30_000 < 15_000, { timeoutMs: 20_000, intervalMs: 200, what: 'a fresh TOTP step' });
    const u = await mfaUser('mfa-guess@e2e.test');
    const codes = ['000000', '111111', 'aaaaa-bbbbb', '222222', 'ccccc-ddddd'].filter((c) => c !== codeAt(u.secret, 0));
    for (const code of codes.slice(0, 5)) {
      const r = await loginAs(u.email, u.password, randomIp(), { totp_code: code });
      expect(r.body.code).toBe('AUTH.MFA_INVALID_CODE');
    }
    // locked: even the right password and the right code are refused now (no code guessing past 5 tries)
    const r = await loginAs(u.email, u.password, randomIp(), { totp_code: codeAt(u.secret, 0) });
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('AUTH.INVALID_CREDENTIALS');
    const [row] = await sql<{ mfa_locked_until: Date | null }>(`SELECT mfa_locked_until FROM auth.users WHERE email = $1`, [u.email]);
    expect(row.mfa_locked_until!.getTime()).toBeGreaterThan(Date.now());
    const locked = (await gatewayEvents('auth.account.locked')).find((e) => (e.data as { email?: string }).email === u.email);
    expect(locked?.data).toMatchObject({ factor: 'mfa', failures: 5 });
  });

  it('an attacker failing passwords on purpose locks the password path only: the admin with password + TOTP still logs in', async () => {
    await waitFor(() => Date.now() % 30_000 < 15_000, { timeoutMs: 20_000, intervalMs: 200, what: 'a fresh TOTP step' });
    const u = await mfaUser('mfa-admin@e2e.test');
    for (let i = 0; i < 5; i++) expect((await loginAs(u.email, `Wrong-Passw0rd-${i}!`, randomIp())).status).toBe(401);
    const [row] = await sql<{ locked_until: Date | null }>(`SELECT locked_until FROM auth.users WHERE email = $1`, [u.email]);
    expect(row.locked_until!.getTime()).toBeGreaterThan(Date.now());
    // the password alone does not pass a lock (nor tell whether it was right)
    const pwOnly = await loginAs(u.email, u.password, randomIp());
    expect(pwOnly.body.code).toBe('AUTH.INVALID_CREDENTIALS');
    // a wrong password with a code does not either
    expect((await loginAs(u.email, 'Wrong-Passw0rd-x!', randomIp(), { totp_code: codeAt(u.secret, 0) })).body.code).toBe('AUTH.INVALID_CREDENTIALS');
    // the right password and the right code do, and clear the lock
    await loginAs(u.email, u.password, randomIp(), { totp_code: codeAt(u.secret, 0) }).expect(200);
    const [after] = await sql<{ locked_until: Date | null; failed_logins: number }>(`SELECT locked_until, failed_logins FROM auth.users WHERE email = $1`, [u.email]);
    expect(after).toEqual({ locked_until: null, failed_logins: 0 });
  });
});

describe('audit flooding', () => {
  it('a flood of refusals from one source becomes one record at once and one summary with a count per window', async () => {
    const viewer = await createUser(stack.url, admin.access, 'flood@e2e.test', 'viewer');
    const ip = '198.51.100.250';
    const n = 40;
    const started = Date.now();
    for (let i = 0; i < n; i++) await request(stack.url).get('/api/users').set(bearer(viewer.token)).set('X-Forwarded-For', ip).expect(403);
    // the stack's window is 1 s (SECURITY_EVENT_WINDOW_SECONDS): on a busy machine the flood spans several windows,
    // each worth at most two records (its first refusal at once, then one summary with the count of the rest)
    const windows = Math.ceil((Date.now() - started) / 1000) + 1;
    const mine = async () => (await gatewayEvents('gateway.request.denied')).filter((e) => e.actor?.ip === ip);
    const counted = (events: Awaited<ReturnType<typeof mine>>) => events.reduce((sum, e) => sum + ((e.data as { count?: number }).count ?? 1), 0);
    // every refusal is accounted for once the last window's summary is out
    await waitFor(async () => counted(await mine()) === n, { timeoutMs: 15_000, what: 'summaries accounting for every refusal' });
    const events = await mine();
    expect(counted(events)).toBe(n);
    // in a handful of records rather than one each
    expect(events.length).toBeLessThanOrEqual(2 * windows);
    expect(events.length).toBeLessThan(n / 2);
    expect(events[0]).toMatchObject({ actor: { ip, user_id: viewer.id }, data: { permission: 'users:read', status: 403 } });
    const summary = events.find((e) => (e.data as { aggregated?: boolean }).aggregated)!;
    expect(summary.request_id).toBeNull();
    expect(summary.data).toMatchObject({ aggregated: true, route: '/api/users', window_start: expect.any(String), window_end: expect.any(String) });
  });

  it('an attacker-chosen email and user agent are bounded and sanitised before they reach the trail', async () => {
    const ip = randomIp();
    const email = `${'x'.repeat(200)}\n\u202e@evil.test`;
    await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', ip).set('User-Agent', `ua-${'y'.repeat(2000)}`).send({ email, password: 'Wrong-Passw0rd!' }).expect(401);
    await waitFor(async () => (await gatewayEvents('auth.login.failed')).some((e) => e.actor?.ip === ip), { what: 'the login.failed event' });
    const failed = (await gatewayEvents('auth.login.failed')).find((e) => e.actor?.ip === ip)!;
    const recorded = (failed.data as { email: string }).email;
    expect(Array.from(recorded).length).toBeLessThanOrEqual(64);
    expect(recorded).not.toMatch(/[\n\u202e]/);
    expect(failed.actor!.user_agent!.length).toBeLessThanOrEqual(200);
  });
});

describe('personal API tokens', () => {
  const mint = (access: string, body: Record<string, unknown>) => request(stack.url).post('/api/auth/tokens').set(bearer(access)).send({ name: 'ci', ...body });

  it('scopes: never above the owner role, and a token acts with role AND scope', async () => {
    const operator = await createUser(stack.url, admin.access, 'scope-op@e2e.test', 'operator');
    const tooWide = await mint(operator.token, { scope: 'admin' });
    expect(tooWide.status).toBe(403);
    expect(tooWide.body.code).toBe('AUTH.API_TOKEN_SCOPE_TOO_WIDE');
    expect((await mint(operator.token, { scope: 'write' })).status).toBe(201);

    const read = (await mint(admin.access, { scope: 'read' }).expect(201)).body;
    expect(read.scope).toBe('read');
    await request(stack.url).get('/api/users').set(bearer(read.token)).expect(200);
    const refused = await request(stack.url).post('/api/users').set(bearer(read.token)).send({ email: 'nope@e2e.test', password: 'Str0ng-Passw0rd!', role: 'viewer' });
    expect(refused.status).toBe(403);
    const write = (await mint(admin.access, { scope: 'write' }).expect(201)).body.token as string;
    await request(stack.url).post('/api/users').set(bearer(write)).send({ email: 'nope@e2e.test', password: 'Str0ng-Passw0rd!', role: 'viewer' }).expect(403);
    const adminScope = (await mint(admin.access, { scope: 'admin' }).expect(201)).body.token as string;
    await request(stack.url).post('/api/users').set(bearer(adminScope)).send({ email: 'scoped-admin-made@e2e.test', password: 'Str0ng-Passw0rd!', role: 'viewer' }).expect(201);
  });

  it('a token (even admin scope) cannot mint tokens, list or revoke them, change the password or touch MFA; it can read its profile', async () => {
    const token = (await mint(admin.access, { scope: 'admin' }).expect(201)).body.token as string;
    const attempts = [
      request(stack.url).post('/api/auth/tokens').set(bearer(token)).send({ name: 'more', scope: 'admin' }),
      request(stack.url).get('/api/auth/tokens').set(bearer(token)),
      request(stack.url).delete('/api/auth/tokens/00000000-0000-4000-8000-000000000000').set(bearer(token)),
      request(stack.url).post('/api/auth/password').set(bearer(token)).set('X-Forwarded-For', randomIp()).send({ current_password: ADMIN_PASSWORD, new_password: 'An0ther-Passw0rd!' }),
      request(stack.url).post('/api/auth/mfa/setup').set(bearer(token)),
      request(stack.url).post('/api/auth/mfa/enable').set(bearer(token)).set('X-Forwarded-For', randomIp()).send({ code: '123456' }),
      request(stack.url).post('/api/auth/mfa/disable').set(bearer(token)).set('X-Forwarded-For', randomIp()).send({ code: '123456', password: ADMIN_PASSWORD }),
      request(stack.url).post('/api/auth/logout').set(bearer(token)),
    ];
    for (const r of await Promise.all(attempts)) expect({ status: r.status, code: r.body.code }).toEqual({ status: 403, code: 'AUTH.SESSION_REQUIRED' });
    await request(stack.url).get('/api/auth/me').set(bearer(token)).expect(200);
  });

  it.each([
    ['a password change', async (u: { id: string; token: string; password: string }) => {
      await request(stack.url).post('/api/auth/password').set(bearer(u.token)).set('X-Forwarded-For', randomIp()).send({ current_password: u.password, new_password: 'Chang3d-Passw0rd!x' }).expect(204);
    }],
    ['a role change', async (u: { id: string }) => {
      await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin.access)).send({ role: 'viewer' }).expect(200);
    }],
    ['a deactivation', async (u: { id: string }) => {
      await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin.access)).send({ is_active: false }).expect(200);
    }],
  ])("%s revokes the user's API tokens", async (what, change) => {
    const u = await createUser(stack.url, admin.access, `revoke-${what.replace(/\W/g, '')}@e2e.test`, 'auditor');
    const token = (await mint(u.token, { scope: 'read' }).expect(201)).body.token as string;
    await request(stack.url).get('/api/users').set(bearer(token)).expect(200);
    await change(u);
    await waitFor(async () => (await request(stack.url).get('/api/auth/me').set(bearer(token))).status === 401, { timeoutMs: 2000, intervalMs: 20, what: 'the token refused' });
    const rows = await sql<{ revoked_at: Date | null }>(`SELECT revoked_at FROM auth.api_tokens WHERE user_id = $1`, [u.id]);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.revoked_at !== null)).toBe(true);
  });
});

describe('sessions', () => {
  it("a password change ends the user's other sessions at once, their access tokens included", async () => {
    const u = await createUser(stack.url, admin.access, 'other-sessions@e2e.test', 'viewer');
    const other = await login(stack.url, u.email, u.password);
    await request(stack.url).get('/api/auth/me').set(bearer(other.access)).expect(200);
    await request(stack.url).post('/api/auth/password').set(bearer(u.token)).set('X-Forwarded-For', randomIp()).send({ current_password: u.password, new_password: 'Chang3d-Passw0rd!y' }).expect(204);
    await waitFor(async () => (await request(stack.url).get('/api/auth/me').set(bearer(other.access))).status === 401, { timeoutMs: 2000, intervalMs: 20, what: 'the other session refused' });
    // the session that changed the password stays
    await request(stack.url).get('/api/auth/me').set(bearer(u.token)).expect(200);
  });

  it('end at their absolute lifetime however often they are refreshed', async () => {
    const u = await createUser(stack.url, admin.access, 'long-session@e2e.test', 'viewer');
    const s = await login(stack.url, u.email, u.password);
    const r1 = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: s.refresh }).expect(200);
    // the login happened 31 days ago (SESSION_ABSOLUTE_DAYS defaults to 30) though it was refreshed just now
    await sql(`UPDATE auth.sessions SET created_at = now() - interval '31 days' WHERE user_id = $1`, [u.id]);
    const r2 = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: r1.body.refresh_token });
    expect(r2.status).toBe(401);
    expect(r2.body.code).toBe('AUTH.INVALID_REFRESH_TOKEN');
  });

  it("an access token never outlives its session's absolute end", async () => {
    const u = await createUser(stack.url, admin.access, 'ending-session@e2e.test', 'viewer');
    const s = await login(stack.url, u.email, u.password);
    // the session started 30 days minus one hour ago: a refresh gets an access token for at most that hour
    await sql(`UPDATE auth.sessions SET created_at = now() - interval '30 days' + interval '1 hour' WHERE user_id = $1`, [u.id]);
    const r = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: s.refresh }).expect(200);
    expect(r.body.expires_in).toBeLessThanOrEqual(3600);
    const exp = JSON.parse(Buffer.from(String(r.body.access_token).split('.')[1], 'base64url').toString()).exp as number;
    expect(exp * 1000).toBeLessThanOrEqual(Date.now() + 3600_000 + 1000);
  });
});
