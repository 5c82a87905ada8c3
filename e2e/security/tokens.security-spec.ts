/**
 * Token attacks against a real gateway and auth: forged access tokens (alg none, HS/EdDSA confusion, wrong key,
 * iss, aud, exp, nbf), revoked sessions, deactivated users, refresh reuse, revoked and expired API tokens, scope
 * escalation. Each refusal is checked on a route every authenticated user may call (GET /api/auth/me), so nothing
 * but the credential decides the answer; a control with a correctly signed token passes.
 */
import { createHmac, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { ed25519PublicJwk, parseEd25519PrivateKey } from '@opsdesk/authn';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, createUser, login, randomIp, startStack, waitFor, type Stack } from '../support/stack';
import { recordCheck } from './support/report';

let stack: Stack;
let admin: { access: string; refresh: string };
let claims: Record<string, unknown>;
let kid: string;
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const hmac = (header: object, payload: object, secret: string | Buffer) => {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${createHmac('sha256', secret).update(data).digest('base64url')}`;
};
const ed = (header: object, payload: object, key: KeyObject) => {
  const data = `${b64(header)}.${b64(payload)}`;
  return `${data}.${edSign(null, Buffer.from(data), key).toString('base64url')}`;
};
const authKey = () => parseEd25519PrivateKey(stack.env.JWT_PRIVATE_KEY as string);
const now = () => Math.floor(Date.now() / 1000);
const me = (token: string) => request(stack.url).get('/api/auth/me').set(bearer(token));
let cases = 0;

beforeAll(async () => {
  stack = await startStack('sectokens');
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  claims = JSON.parse(Buffer.from(admin.access.split('.')[1], 'base64url').toString());
  kid = JSON.parse(Buffer.from(admin.access.split('.')[0], 'base64url').toString()).kid;
}, 120_000);

afterAll(async () => {
  recordCheck('token-attacks', cases, 'forged, confused, expired, not-yet-valid, revoked and escalated credentials are refused');
  await stack?.stop();
});

describe('forged access tokens', () => {
  it.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT', kid })}.${b64(claims)}.`],
    ['alg None (case games)', () => `${b64({ alg: 'None', typ: 'JWT', kid })}.${b64(claims)}.`],
    ['HS256 keyed with the public key PEM (HS/EdDSA confusion)', () => hmac({ alg: 'HS256', typ: 'JWT', kid }, claims, createPublicKey(authKey()).export({ format: 'pem', type: 'spki' }).toString())],
    ['HS256 keyed with the JWK x', () => hmac({ alg: 'HS256', typ: 'JWT', kid }, claims, ed25519PublicJwk(authKey()).x)],
    ['HS256 with JWT_SECRET', () => hmac({ alg: 'HS256', typ: 'JWT' }, claims, stack.env.JWT_SECRET as string)],
    ['wrong key under the real kid', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, claims, generateKeyPairSync('ed25519').privateKey)],
    ['wrong issuer', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, iss: 'evil' }, authKey())],
    ['wrong audience', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, aud: 'another-api' }, authKey())],
    ['expired', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, exp: now() - 120 }, authKey())],
    ['no exp', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, exp: undefined }, authKey())],
    ['not valid before an hour from now (nbf)', () => ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, nbf: now() + 3600, exp: now() + 7200 }, authKey())],
    ['role raised in the payload (signature no longer matches)', () => {
      const [h, , s] = admin.access.split('.');
      return `${h}.${b64({ ...claims, role: 'admin', sub: '00000000-0000-4000-8000-000000000000' })}.${s}`;
    }],
  ])('%s → 401', async (_name, make) => {
    cases++;
    const res = await me(make());
    expect({ status: res.status, code: res.body.code }).toEqual({ status: 401, code: 'AUTH.UNAUTHENTICATED' });
  });

  it('control: a token signed with auth\'s key and valid claims is accepted', async () => {
    cases++;
    await me(ed({ alg: 'EdDSA', typ: 'JWT', kid }, { ...claims, exp: now() + 60 }, authKey())).expect(200);
  });
});

describe('sessions and users', () => {
  it('a logged-out session is refused, and so is its refresh token', async () => {
    const u = await createUser(stack.url, admin.access, 'logout@sectokens.test', 'viewer');
    const s = await login(stack.url, u.email, u.password);
    await request(stack.url).post('/api/auth/logout').set(bearer(s.access)).expect(204);
    cases += 2;
    expect((await me(s.access)).status).toBe(401);
    expect((await request(stack.url).post('/api/auth/refresh').send({ refresh_token: s.refresh })).status).toBe(401);
  });

  it('a deactivated user\'s access token is refused at once', async () => {
    const u = await createUser(stack.url, admin.access, 'deactivated@sectokens.test', 'operator');
    await request(stack.url).patch(`/api/users/${u.id}`).set(bearer(admin.access)).send({ is_active: false }).expect(200);
    cases++;
    await waitFor(async () => (await me(u.token)).status === 401, { timeoutMs: 2000, intervalMs: 20, what: 'deactivated user refused' });
  });

  it('refresh reuse revokes the whole family: the replayed token, the newer one and the access token', async () => {
    const u = await createUser(stack.url, admin.access, 'reuse@sectokens.test', 'viewer');
    const s = await login(stack.url, u.email, u.password);
    const next = (await request(stack.url).post('/api/auth/refresh').send({ refresh_token: s.refresh }).expect(200)).body;
    const replay = await request(stack.url).post('/api/auth/refresh').send({ refresh_token: s.refresh });
    cases += 3;
    expect(replay.body.code).toBe('AUTH.REFRESH_TOKEN_REUSED');
    expect((await request(stack.url).post('/api/auth/refresh').send({ refresh_token: next.refresh_token })).status).toBe(401);
    await waitFor(async () => (await me(next.access_token)).status === 401, { timeoutMs: 2000, intervalMs: 20, what: 'the family refused' });
  });
});

describe('personal API tokens', () => {
  const mint = async (access: string, scope: string) =>
    (await request(stack.url).post('/api/auth/tokens').set(bearer(access)).send({ name: 'attack', scope }).expect(201)).body as { id: string; token: string };

  it('a revoked token is refused', async () => {
    const t = await mint(admin.access, 'read');
    await me(t.token).expect(200);
    await request(stack.url).delete(`/api/auth/tokens/${t.id}`).set(bearer(admin.access)).expect(204);
    cases++;
    await waitFor(async () => (await me(t.token)).status === 401, { timeoutMs: 2000, intervalMs: 20, what: 'revoked token refused' });
  });

  it('an expired token is refused', async () => {
    const t = await mint(admin.access, 'read');
    const c = new Client({ connectionString: stack.db.url });
    await c.connect();
    await c.query(`UPDATE auth.api_tokens SET expires_at = now() - interval '1 second' WHERE id = $1`, [t.id]);
    await c.end();
    cases++;
    // the gateway may hold a verification for API_TOKEN_CACHE_SECONDS; it re-checks the expiry on every use
    expect((await me(t.token)).status).toBe(401);
  });

  it('scope escalation is refused: minting above the role, minting with a token, acting beyond the scope', async () => {
    const viewer = await createUser(stack.url, admin.access, 'escalate@sectokens.test', 'viewer');
    const tooWide = await request(stack.url).post('/api/auth/tokens').set(bearer(viewer.token)).send({ name: 'x', scope: 'write' });
    expect(tooWide.body.code).toBe('AUTH.API_TOKEN_SCOPE_TOO_WIDE');
    const read = await mint(admin.access, 'read');
    const viaToken = await request(stack.url).post('/api/auth/tokens').set(bearer(read.token)).send({ name: 'x', scope: 'admin' });
    expect(viaToken.body.code).toBe('AUTH.SESSION_REQUIRED');
    const beyond = await request(stack.url).patch(`/api/users/${viewer.id}`).set(bearer(read.token)).send({ role: 'admin' });
    expect(beyond.status).toBe(403);
    const password = await request(stack.url).post('/api/auth/password').set(bearer(read.token)).set('X-Forwarded-For', randomIp()).send({ current_password: ADMIN_PASSWORD, new_password: 'Took-0ver-Passw0rd!' });
    expect(password.body.code).toBe('AUTH.SESSION_REQUIRED');
    cases += 4;
  });
});
