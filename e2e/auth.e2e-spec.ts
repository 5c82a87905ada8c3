import { createHmac, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import request from 'supertest';
import { authenticator } from 'otplib';
import { ed25519PublicJwk, ed25519Thumbprint, parseEd25519PrivateKey } from '@opsdesk/authn';
import { ADMIN_EMAIL, ADMIN_PASSWORD, createUser, login, randomIp, startStack, waitFor, type Stack } from './support/stack';

let stack: Stack;
let admin: { access: string; refresh: string };

beforeAll(async () => {
  stack = await startStack('authe2e', { gateways: 2 });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
});

afterAll(async () => {
  await stack?.stop();
});

const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

describe('login, me, refresh, logout', () => {
  it('logs in and answers /me without secrets', async () => {
    const res = await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).expect(200);
    expect(res.body).toMatchObject({ email: ADMIN_EMAIL, role: 'admin', is_active: true, mfa_enabled: false });
    expect(JSON.stringify(res.body)).not.toMatch(/hash|secret/i);
    // a generated request id (UUID) when the client sent none; a well-formed one of the client's is kept, a
    // malformed one replaced
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const own = await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).set('X-Request-Id', 'ci-run.42:step-7').expect(200);
    expect(own.headers['x-request-id']).toBe('ci-run.42:step-7');
    const bad = await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).set('X-Request-Id', 'x'.repeat(129)).expect(200);
    expect(bad.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('refuses bad credentials with one answer for unknown email and wrong password', async () => {
    const a = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: 'nobody@e2e.test', password: 'Whatever-123456' });
    const b = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: ADMIN_EMAIL, password: 'Wrong-Password-1' });
    expect(a.status).toBe(401);
    expect(b.status).toBe(401);
    expect(a.body.code).toBe('AUTH.INVALID_CREDENTIALS');
    expect(b.body.code).toBe(a.body.code);
    expect(b.body.detail).toBe(a.body.detail);
    expect(a.headers['content-type']).toMatch(/application\/problem\+json/);
    // one failure on the admin resets at the next good login
    await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  });

  it('rotates refresh tokens; replaying a used one kills the whole family', async () => {
    const user = await createUser(stack.url, admin.access, 'rotate@e2e.test', 'viewer');
    const first = await login(stack.url, user.email, user.password);
    const r1 = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: first.refresh }).expect(200);
    expect(r1.body.refresh_token).not.toBe(first.refresh);
    await request(stack.url).get('/api/auth/me').set(bearer(r1.body.access_token)).expect(200);
    // replay of the rotated token
    const replay = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: first.refresh }).expect(401);
    expect(replay.body.code).toBe('AUTH.REFRESH_TOKEN_REUSED');
    // the newest token of the family is dead too, and so is the access token of the session
    const next = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: r1.body.refresh_token }).expect(401);
    expect(next.body.code).toBe('AUTH.INVALID_REFRESH_TOKEN');
    await waitFor(async () => (await request(stack.url).get('/api/auth/me').set(bearer(r1.body.access_token))).status === 401, {
      timeoutMs: 2000,
      what: 'access token of the revoked family to be refused',
    });
  });

  it('logout: the same access token is refused on the next request, on every gateway replica', async () => {
    const user = await createUser(stack.url, admin.access, 'logout@e2e.test', 'operator');
    const s = await login(stack.url, user.email, user.password);
    await request(stack.urls[1]).get('/api/auth/me').set(bearer(s.access)).expect(200);
    await request(stack.url).post('/api/auth/logout').set(bearer(s.access)).expect(204);
    await request(stack.url).get('/api/auth/me').set(bearer(s.access)).expect(401);
    const started = Date.now();
    await waitFor(async () => (await request(stack.urls[1]).get('/api/auth/me').set(bearer(s.access))).status === 401, {
      timeoutMs: 1000,
      intervalMs: 10,
      what: 'the other replica to refuse the logged-out token',
    });
    expect(Date.now() - started).toBeLessThan(1000);
    await request(stack.url).post('/api/auth/refresh').send({ refresh_token: s.refresh }).expect(401);
  });
});

describe('MFA', () => {
  const totp = authenticator.clone({ window: 1, step: 30 });
  const codeAt = (secret: string, offsetSteps: number) => totp.clone({ epoch: Date.now() + offsetSteps * 30_000 }).generate(secret);

  it('setup, enable, login requires a code, replay refused, recovery code works once', async () => {
    // stay clear of a step boundary so "previous/current/next" codes mean what they say
    await waitFor(() => (Date.now() % 30_000) < 20_000, { timeoutMs: 15_000, intervalMs: 200, what: 'a fresh TOTP step' });
    const user = await createUser(stack.url, admin.access, 'mfa@e2e.test', 'operator');
    const s = await login(stack.url, user.email, user.password);
    const setup = await request(stack.url).post('/api/auth/mfa/setup').set(bearer(s.access)).set('X-Forwarded-For', randomIp()).expect(200);
    expect(setup.body.otpauth_url).toMatch(/^otpauth:\/\/totp\//);
    const secret: string = setup.body.secret;
    const wrongEnable = await request(stack.url).post('/api/auth/mfa/enable').set(bearer(s.access)).set('X-Forwarded-For', randomIp()).send({ code: '12345' });
    expect(wrongEnable.status).toBe(400);
    expect(wrongEnable.body.errors[0].field).toBe('code');
    const enabled = await request(stack.url).post('/api/auth/mfa/enable').set(bearer(s.access)).set('X-Forwarded-For', randomIp()).send({ code: codeAt(secret, -1) }).expect(200);
    expect(enabled.body.recovery_codes).toHaveLength(10);

    const noCode = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password });
    expect(noCode.status).toBe(401);
    expect(noCode.body.code).toBe('AUTH.MFA_REQUIRED');
    const current = codeAt(secret, 0);
    const wrong = current === '000000' ? '111111' : '000000';
    const bad = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password, totp_code: wrong });
    expect(bad.body.code).toBe('AUTH.MFA_INVALID_CODE');
    const older = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password, totp_code: codeAt(secret, -1) });
    expect(older.status).toBe(401); // the enrolment code's step is spent

    await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password, totp_code: current }).expect(200);
    const replay = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password, totp_code: current });
    expect(replay.status).toBe(401);
    expect(replay.body.code).toBe('AUTH.MFA_INVALID_CODE');

    const recovery = enabled.body.recovery_codes[0];
    await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password, totp_code: recovery }).expect(200);
    const again = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password, totp_code: recovery });
    expect(again.status).toBe(401);

    const me = await request(stack.url).get('/api/auth/me').set(bearer(s.access)).expect(200);
    expect(me.body.mfa_enabled).toBe(true);
    // admin reset lets the user in with the password alone
    await request(stack.url).post(`/api/users/${user.id}/mfa/reset`).set(bearer(admin.access)).expect(204);
    await login(stack.url, user.email, user.password);
  });
});

describe('lockout and rate limits', () => {
  it('locks the account after repeated failures (even the right password is refused)', async () => {
    const user = await createUser(stack.url, admin.access, 'lock@e2e.test', 'viewer');
    for (let i = 0; i < 5; i++) {
      await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: 'Wrong-Password-1' }).expect(401);
    }
    const res = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: user.email, password: user.password });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('AUTH.INVALID_CREDENTIALS');
  });

  it('answers the 6th login in a minute from one IP with 429 and Retry-After', async () => {
    const ip = '198.51.100.77';
    for (let i = 0; i < 5; i++) {
      const r = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email: 'x@e2e.test', password: 'Whatever-123456' });
      expect(r.status).toBe(401);
    }
    const sixth = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', ip).send({ email: 'x@e2e.test', password: 'Whatever-123456' });
    expect(sixth.status).toBe(429);
    expect(Number(sixth.headers['retry-after'])).toBeGreaterThan(0);
    expect(sixth.body.code).toBe('GATEWAY.RATE_LIMITED');
  });
});

describe('user administration and RBAC', () => {
  it('creates, updates and deactivates users; duplicates and weak passwords are refused', async () => {
    const u = await createUser(stack.url, admin.access, 'alice@e2e.test', 'viewer');
    const dup = await request(stack.url).post('/api/users').set(bearer(admin.access)).send({ email: 'ALICE@e2e.test', password: 'Str0ng-Passw0rd!', role: 'viewer' });
    expect(dup.status).toBe(409);
    expect(dup.body.code).toBe('AUTH.EMAIL_TAKEN');
    const weak = await request(stack.url).post('/api/users').set(bearer(admin.access)).send({ email: 'bob@e2e.test', password: 'short', role: 'viewer' });
    expect(weak.status).toBe(400);
    expect(weak.body.errors.map((e: { field: string }) => e.field)).toContain('password');

    const viewer = await login(stack.url, u.email, u.password);
    const denied = await request(stack.url).get('/api/users').set(bearer(viewer.access));
    expect(denied.status).toBe(403);
    expect(denied.body.code).toBe('AUTH.FORBIDDEN');

    const promoted = await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin.access)).send({ role: 'auditor' }).expect(200);
    expect(promoted.body.role).toBe('auditor');
    // the role change cuts off the old token; a refresh gets the new role
    await waitFor(async () => (await request(stack.url).get('/api/auth/me').set(bearer(viewer.access))).status === 401, { timeoutMs: 2000, what: 'old-role token refused' });
    const refreshed = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: viewer.refresh }).expect(200);
    await request(stack.url).get('/api/users').set(bearer(refreshed.body.access_token)).expect(200);

    await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin.access)).send({ is_active: false }).expect(200);
    for (const url of stack.urls) {
      await waitFor(async () => (await request(url).get('/api/auth/me').set(bearer(refreshed.body.access_token))).status === 401, {
        timeoutMs: 1000,
        intervalMs: 10,
        what: 'deactivated user refused on every replica',
      });
    }
    await request(stack.url).post('/api/auth/refresh').send({ refresh_token: refreshed.body.refresh_token }).expect(401);
    const loginInactive = await request(stack.url).post('/api/auth/login').set('X-Forwarded-For', randomIp()).send({ email: u.email, password: u.password });
    expect(loginInactive.status).toBe(401);

    const list = await request(stack.url).get('/api/users?limit=2').set(bearer(admin.access)).expect(200);
    expect(list.body.items).toHaveLength(2);
    expect(list.body.next_cursor).toBeTruthy();
    const page2 = await request(stack.url).get(`/api/users?limit=2&cursor=${list.body.next_cursor}`).set(bearer(admin.access)).expect(200);
    expect(page2.body.items[0].id).not.toBe(list.body.items[1].id);

    await request(stack.url).delete(`/api/users/${u.id}`).set(bearer(admin.access)).expect(204);
    await request(stack.url).get(`/api/users/${u.id}`).set(bearer(admin.access)).expect(404);
  });

  it('refuses to let an admin demote or delete themselves', async () => {
    const me = await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).expect(200);
    await request(stack.url).patch(`/api/users/${me.body.id}`).set(bearer(admin.access)).send({ role: 'viewer' }).expect(403);
    await request(stack.url).delete(`/api/users/${me.body.id}`).set(bearer(admin.access)).expect(403);
  });
});

describe('personal API tokens', () => {
  it('are shown once, authenticate, record last use and stop working when revoked', async () => {
    const created = await request(stack.url).post('/api/auth/tokens').set(bearer(admin.access)).send({ name: 'ci', expires_in_days: 30 }).expect(201);
    expect(created.body.token).toMatch(/^odp_/);
    const token: string = created.body.token;
    await request(stack.url).get('/api/users').set(bearer(token)).expect(200);
    const list = await request(stack.url).get('/api/auth/tokens').set(bearer(admin.access)).expect(200);
    const row = list.body.items.find((t: { id: string }) => t.id === created.body.id);
    expect(row.last_used_at).toBeTruthy();
    expect(JSON.stringify(list.body)).not.toContain(token);
    await request(stack.url).delete(`/api/auth/tokens/${created.body.id}`).set(bearer(admin.access)).expect(204);
    for (const url of stack.urls) {
      await waitFor(async () => (await request(url).get('/api/users').set(bearer(token))).status === 401, { timeoutMs: 1000, intervalMs: 10, what: 'revoked API token refused' });
    }
    await request(stack.url).get('/api/users').set(bearer('odp_not-a-real-token-at-all-xxxxxxxxxxxx')).expect(401);
  });
});

describe('forged access tokens are refused', () => {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const hmac = (alg: 'sha256' | 'sha512', header: object, payload: object, secret: string | Buffer) => {
    const data = `${b64(header)}.${b64(payload)}`;
    return `${data}.${createHmac(alg, secret).update(data).digest('base64url')}`;
  };
  const ed = (header: object, payload: object, key: KeyObject) => {
    const data = `${b64(header)}.${b64(payload)}`;
    return `${data}.${edSign(null, Buffer.from(data), key).toString('base64url')}`;
  };
  // auth's own signing key (the suite generated it): claims signed with it isolate the one check under test
  const authKey = () => parseEd25519PrivateKey(stack.env.JWT_PRIVATE_KEY as string);
  let claims: Record<string, unknown>;
  let kid: string;

  beforeAll(() => {
    claims = JSON.parse(Buffer.from(admin.access.split('.')[1], 'base64url').toString());
    kid = JSON.parse(Buffer.from(admin.access.split('.')[0], 'base64url').toString()).kid;
  });

  it('access tokens are EdDSA with the kid of auth\'s key (the RFC 7638 thumbprint)', () => {
    expect(JSON.parse(Buffer.from(admin.access.split('.')[0], 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: ed25519Thumbprint(authKey()) });
  });

  it.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
    ['alg none with the real kid', () => `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`],
    ['wrong key (another Ed25519 key under the real kid)', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, claims, generateKeyPairSync('ed25519').privateKey)],
    ['unknown kid', () => {
      const other = generateKeyPairSync('ed25519');
      return ed({ alg: 'EdDSA', typ: 'JWT', kid: ed25519Thumbprint(other.publicKey) }, claims, other.privateKey);
    }],
    ['no kid', () => ed({ alg: 'EdDSA', typ: 'JWT' }, claims, authKey())],
    ['wrong issuer', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, iss: 'evil' }, authKey())],
    ['wrong audience', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, aud: 'other-api' }, authKey())],
    ['expired', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, authKey())],
    // algorithm confusion: the published public key used as an HMAC secret, as PEM and as the JWK's x
    ['HS256 keyed with the public key PEM', () => hmac('sha256', { alg: 'HS256', typ: 'JWT', kid }, claims, createPublicKey(authKey()).export({ format: 'pem', type: 'spki' }).toString())],
    ['HS256 keyed with the JWK x', () => hmac('sha256', { alg: 'HS256', typ: 'JWT', kid }, claims, ed25519PublicJwk(authKey()).x)],
    ['HS256 keyed with the raw public key bytes', () => hmac('sha256', { alg: 'HS256', typ: 'JWT', kid }, claims, Buffer.from(ed25519PublicJwk(authKey()).x, 'base64url'))],
    // the gateway's JWT_SECRET mints nothing with EdDSA
    ['HS256 with the gateway\'s JWT_SECRET', () => hmac('sha256', { alg: 'HS256', typ: 'JWT' }, claims, stack.env.JWT_SECRET as string)],
    ['HS512 with the gateway\'s JWT_SECRET', () => hmac('sha512', { alg: 'HS512', typ: 'JWT' }, claims, stack.env.JWT_SECRET as string)],
    ['tampered payload', () => {
      const [h, , s] = admin.access.split('.');
      return `${h}.${b64({ ...claims, role: 'admin', email: 'mallory@e2e.test' })}.${s}`;
    }],
    ['tampered signature', () => {
      const [h, p, s] = admin.access.split('.');
      const sig = Buffer.from(s, 'base64url');
      sig[0] ^= 0x80;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }],
  ])('%s → 401', async (_name, make) => {
    const res = await request(stack.url).get('/api/auth/me').set(bearer(make()));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('AUTH.UNAUTHENTICATED');
  });

  it('a correctly signed token still works (control), including one the test signs with auth\'s key', async () => {
    await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).expect(200);
    const fresh = ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, exp: Math.floor(Date.now() / 1000) + 60 }, authKey());
    await request(stack.url).get('/api/auth/me').set(bearer(fresh)).expect(200);
  });
});

describe('HTTP surface', () => {
  it('serves health, OpenAPI and the Swagger UI without auth; readiness and metrics only on the internal port', async () => {
    await request(stack.url).get('/healthz').expect(200);
    const ready = await request(stack.internalUrl).get('/readyz').expect(200);
    expect(ready.body.checks).toEqual({ nats: 'ok', revocations: 'ok', jwks: 'ok' });
    const metrics = await request(stack.internalUrl).get('/metrics').expect(200);
    expect(metrics.text).toContain('opsdesk_http_request_duration_seconds');
    await request(stack.internalUrl).get('/healthz').expect(200);
    // the public port serves neither; the internal one nothing else
    for (const path of ['/readyz', '/metrics', '/metrics?x=1']) {
      const r = await request(stack.url).get(path).expect(404);
      expect(r.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    for (const path of ['/api/openapi.json', '/api/auth/me', '/']) await request(stack.internalUrl).get(path).expect(404);
    const spec = await request(stack.url).get('/api/openapi.json').expect(200);
    expect(Object.keys(spec.body.paths)).toEqual(expect.arrayContaining(['/api/auth/login', '/api/users/{id}']));
    await request(stack.url).get('/api/docs').expect(200);
  });

  it('sets the security headers and keeps a caller-supplied request id', async () => {
    const res = await request(stack.url).get('/api/auth/me').set('X-Request-Id', 'req-e2e-123');
    expect(res.status).toBe(401);
    expect(res.headers['x-request-id']).toBe('req-e2e-123');
    expect(res.body.request_id).toBe('req-e2e-123');
    expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toContain('max-age=31536000');
  });

  it('answers a malformed JSON body and an oversized body with problem documents', async () => {
    const bad = await request(stack.url).post('/api/auth/login').set('Content-Type', 'application/json').set('X-Forwarded-For', randomIp()).send('{"email":');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/problem\+json/);
    const big = await request(stack.url).post('/api/auth/refresh').set('Content-Type', 'application/json').send(JSON.stringify({ refresh_token: 'x'.repeat(2 * 1024 * 1024) }));
    expect(big.status).toBe(413);
    expect(big.body.code).toBe('COMMON.PAYLOAD_TOO_LARGE');
  });
});
