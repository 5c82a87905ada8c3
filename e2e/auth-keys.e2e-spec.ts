import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as edSign, type KeyObject } from 'node:crypto';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { ed25519PublicJwk, ed25519Thumbprint, parseEd25519PrivateKey } from '@opsdesk/authn';
import { generateAccessTokenKey, natsServiceEnv, TEST_JWT_SECRET } from '@opsdesk/testing';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, gatewayInternalUrl, login, startStack, urlOf, type Stack } from './support/stack';

/**
 * SPEC §7 "Trust inside the system", access tokens: auth alone signs them (EdDSA by default), the gateway
 * verifies with the public keys auth publishes (JWKS, key ids, rotation), HS256 stays for the guide.
 */

const GATEWAY = join(__dirname, '..', 'services', 'gateway', 'src');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- services are found by path at run time, like the stack does
const gatewayConfigModule = require(join(GATEWAY, 'config', 'gateway.config')) as {
  GATEWAY_CONFIG: symbol;
  loadGatewayConfig(env: NodeJS.ProcessEnv): Record<string, unknown>;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- as above
const gatewayBoot = require(join(GATEWAY, 'bootstrap')) as {
  bootstrapFromEnv(env: NodeJS.ProcessEnv, opts?: { quiet?: boolean }): Promise<NestFastifyApplication>;
};

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const parts = (token: string) => ({
  header: JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()) as Record<string, unknown>,
  claims: JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()) as Record<string, unknown>,
});
const edToken = (kid: string, claims: object, key: KeyObject) => {
  const data = `${b64({ alg: 'EdDSA', typ: 'JWT', kid })}.${b64(claims)}`;
  return `${data}.${edSign(null, Buffer.from(data), key).toString('base64url')}`;
};
const hsToken = (alg: 'HS256' | 'HS512', claims: object, secret: string) => {
  const data = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  return `${data}.${createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret).update(data).digest('base64url')}`;
};
const nowSec = () => Math.floor(Date.now() / 1000);

/** true when the text is any kind of private key (PEM, base64 PEM, base64 DER) */
function isPrivateKey(text: string): boolean {
  const attempts: Array<() => unknown> = [
    () => createPrivateKey(text.replace(/\\n/g, '\n')),
    () => createPrivateKey(Buffer.from(text, 'base64').toString('utf8')),
    () => createPrivateKey({ key: Buffer.from(text, 'base64'), format: 'der', type: 'pkcs8' }),
  ];
  return attempts.some((attempt) => {
    try {
      attempt();
      return true;
    } catch {
      return false;
    }
  });
}

describe('EdDSA access tokens: the gateway cannot mint', () => {
  let stack: Stack;
  let admin: { access: string; refresh: string };

  beforeAll(async () => {
    stack = await startStack('authkeys');
    admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('the gateway\'s resolved configuration holds no token-signing key: its one private key signs caller contexts only', async () => {
    expect(isPrivateKey(stack.env.JWT_PRIVATE_KEY as string)).toBe(true); // the detector works on the real key
    const config = stack.gateways[0].get(gatewayConfigModule.GATEWAY_CONFIG) as Record<string, unknown>;
    expect(config.JWT_ALGORITHM).toBe('EdDSA');
    expect(Object.keys(config)).not.toContain('JWT_PRIVATE_KEY');
    const privateValues = Object.entries(config).filter(([, v]) => typeof v === 'string' && isPrivateKey(v)).map(([k]) => k);
    // its own caller-context key (docs/SECURITY.md), which is not among the keys access tokens verify with
    expect(privateValues).toEqual(['GATEWAY_CONTEXT_PRIVATE_KEY']);
    const contextKey = parseEd25519PrivateKey(config.GATEWAY_CONTEXT_PRIVATE_KEY as string);
    const jwks = (await request(stack.url).get('/api/auth/jwks.json').expect(200)).body as { keys: Array<{ kid: string }> };
    expect(jwks.keys.map((k) => k.kid)).not.toContain(ed25519Thumbprint(contextKey));
    expect(JSON.stringify(config)).not.toContain('PRIVATE KEY');
    expect(Object.keys(gatewayConfigModule.loadGatewayConfig(stack.env))).not.toContain('JWT_PRIVATE_KEY');
  });

  it('publishes the JWKS at /api/auth/jwks.json: public keys only, kid = RFC 7638 thumbprint, the one tokens name', async () => {
    const res = await request(stack.url).get('/api/auth/jwks.json').expect(200);
    const key = parseEd25519PrivateKey(stack.env.JWT_PRIVATE_KEY as string);
    expect(res.body).toEqual({ keys: [ed25519PublicJwk(key)] });
    expect(res.body.keys[0]).not.toHaveProperty('d');
    expect(parts(admin.access).header).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: ed25519Thumbprint(key) });
    expect(res.headers['cache-control']).toMatch(/max-age=/);
  });

  // Last in this block: the gateway it boots registers its passport strategy process-wide (see below).
  it('a gateway given no private key and a JWT_SECRET of its own verifies auth\'s tokens from the JWKS alone, and its secret mints nothing', async () => {
    const gatewaySecret = randomBytes(32).toString('hex');
    const env: NodeJS.ProcessEnv = { ...stack.env, ...natsServiceEnv('gateway'), JWT_SECRET: gatewaySecret };
    delete env.JWT_PRIVATE_KEY;
    const gateway = await gatewayBoot.bootstrapFromEnv(env, { quiet: true });
    try {
      const url = urlOf(gateway);
      const ready = await request(gatewayInternalUrl(gateway)).get('/readyz').expect(200);
      expect(ready.body.checks).toMatchObject({ jwks: 'ok' });
      const me = await request(url).get('/api/auth/me').set(bearer(admin.access)).expect(200);
      expect(me.body.email).toBe(ADMIN_EMAIL);
      // a token minted with everything this gateway holds: its JWT_SECRET, in every HMAC flavour
      const claims = { ...parts(admin.access).claims, exp: nowSec() + 600 };
      for (const token of [hsToken('HS256', claims, gatewaySecret), hsToken('HS512', claims, gatewaySecret)]) {
        const res = await request(url).get('/api/auth/me').set(bearer(token));
        expect(res.status).toBe(401);
        expect(res.body.code).toBe('AUTH.UNAUTHENTICATED');
      }
      // logging in through it works too: it asks auth, which signs
      const own = await login(url, ADMIN_EMAIL, ADMIN_PASSWORD);
      await request(url).get('/api/auth/me').set(bearer(own.access)).expect(200);
    } finally {
      await gateway.close();
    }
  });
});

describe('key rotation: previous keys keep verifying until their tokens expire, new tokens use the new kid', () => {
  let stack: Stack;

  beforeAll(async () => {
    // One gateway: passport keeps strategies in a process-wide registry, so gateways booted in one process
    // share the last one's verifier; a single gateway makes "this gateway fetched the new key" observable.
    stack = await startStack('authrotate');
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('rotates A → B (A still published) → C (A withdrawn)', async () => {
    const a = parseEd25519PrivateKey(stack.env.JWT_PRIVATE_KEY as string);
    const kidA = ed25519Thumbprint(a);
    const tokenA = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
    expect(parts(tokenA).header.kid).toBe(kidA);
    const claimsA = parts(tokenA).claims;
    for (const url of stack.urls) await request(url).get('/api/auth/me').set(bearer(tokenA)).expect(200);

    // auth switches to key B and keeps publishing A; the gateways are not restarted
    const b = generateAccessTokenKey();
    const kidB = ed25519Thumbprint(parseEd25519PrivateKey(b.privatePem));
    stack.env.JWT_PRIVATE_KEY = b.privatePem;
    stack.env.JWT_PREVIOUS_PUBLIC_KEYS = createPublicKey(a).export({ format: 'pem', type: 'spki' }).toString();
    await stack.restart('auth');

    const tokenB = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
    expect(parts(tokenB).header.kid).toBe(kidB);
    expect(kidB).not.toBe(kidA);
    // the gateway meets kid B for the first time and fetches the new set on the spot
    await request(stack.url).get('/api/auth/me').set(bearer(tokenB)).expect(200);
    await request(stack.url).get('/api/auth/me').set(bearer(tokenA)).expect(200);
    const jwks = await request(stack.url).get('/api/auth/jwks.json').expect(200);
    expect(jwks.body.keys.map((k: { kid: string }) => k.kid)).toEqual([kidB, kidA]);

    // "until they expire": an A-signed token past its exp is refused, an in-date one (same key) is not
    const expiredA = edToken(kidA, { ...claimsA, exp: nowSec() - 1 }, a);
    const liveA = edToken(kidA, { ...claimsA, exp: nowSec() + 60 }, a);
    expect((await request(stack.url).get('/api/auth/me').set(bearer(expiredA))).status).toBe(401);
    await request(stack.url).get('/api/auth/me').set(bearer(liveA)).expect(200);

    // next rotation: auth moves to C and publishes only B (A withdrawn, e.g. compromised)
    const c = generateAccessTokenKey();
    stack.env.JWT_PRIVATE_KEY = c.privatePem;
    stack.env.JWT_PREVIOUS_PUBLIC_KEYS = b.publicPem;
    await stack.restart('auth');
    const tokenC = (await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD)).access;
    await request(stack.url).get('/api/auth/me').set(bearer(tokenC)).expect(200); // unknown kid C: refresh
    await request(stack.url).get('/api/auth/me').set(bearer(tokenB)).expect(200);
    const refused = await request(stack.url).get('/api/auth/me').set(bearer(tokenA));
    expect(refused.status).toBe(401);
    expect(refused.body.code).toBe('AUTH.UNAUTHENTICATED');
    const after = await request(stack.url).get('/api/auth/jwks.json').expect(200);
    expect(after.body.keys.map((k: { kid: string }) => k.kid)).toEqual([ed25519Thumbprint(parseEd25519PrivateKey(c.privatePem)), kidB]);
  });
});

describe('HS256 (JWT_ALGORITHM for the deployment guide; the weaker mode)', () => {
  let stack: Stack;
  let admin: { access: string; refresh: string };
  let claims: Record<string, unknown>;

  beforeAll(async () => {
    stack = await startStack('authhs256', { env: { JWT_ALGORITHM: 'HS256' } });
    admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
    claims = parts(admin.access).claims;
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('signs HS256 with JWT_SECRET, publishes no key, and verifies', async () => {
    expect(parts(admin.access).header).toEqual({ alg: 'HS256', typ: 'JWT' });
    await request(stack.url).get('/api/auth/me').set(bearer(admin.access)).expect(200);
    expect((await request(stack.url).get('/api/auth/jwks.json').expect(200)).body).toEqual({ keys: [] });
    expect(stack.env.JWT_SECRET).toBe(TEST_JWT_SECRET);
  });

  it.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`],
    ['wrong secret', () => hsToken('HS256', claims, 'not-the-secret-not-the-secret-xxxxx')],
    ['wrong issuer', () => hsToken('HS256', { ...claims, iss: 'evil' }, TEST_JWT_SECRET)],
    ['wrong audience', () => hsToken('HS256', { ...claims, aud: 'other-api' }, TEST_JWT_SECRET)],
    ['expired', () => hsToken('HS256', { ...claims, exp: nowSec() - 10 }, TEST_JWT_SECRET)],
    ['HS512 instead of the allowed HS256', () => hsToken('HS512', claims, TEST_JWT_SECRET)],
    ['EdDSA instead of the allowed HS256 (a real Ed25519 signature)', () => {
      const k = generateKeyPairSync('ed25519');
      return edToken(ed25519Thumbprint(k.publicKey), claims, k.privateKey);
    }],
    ['tampered payload', () => {
      const [h, , s] = admin.access.split('.');
      return `${h}.${b64({ ...claims, role: 'admin', email: 'mallory@e2e.test' })}.${s}`;
    }],
  ])('%s → 401', async (_name, make) => {
    const res = await request(stack.url).get('/api/auth/me').set(bearer(make()));
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('AUTH.UNAUTHENTICATED');
  });

  it('a token the test signs with JWT_SECRET is accepted: in this mode whoever holds the secret can mint (control)', async () => {
    await request(stack.url).get('/api/auth/me').set(bearer(hsToken('HS256', { ...claims, exp: nowSec() + 60 }, TEST_JWT_SECRET))).expect(200);
  });
});
