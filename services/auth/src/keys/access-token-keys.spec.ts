import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { contextKeyEnv } from '@opsdesk/testing';
import { ConfigError } from '@opsdesk/config';
import { ed25519PublicJwk, ed25519Thumbprint, verifyJwt } from '@opsdesk/authn';
import { loadAuthConfig } from '../config/auth.config';
import { AccessTokenKeys } from './access-token-keys';

const base = { ENVIRONMENT: 'development', GATEWAY_CONTEXT_PUBLIC_KEY: contextKeyEnv().GATEWAY_CONTEXT_PUBLIC_KEY as string, NATS_USER: 'auth', NATS_PASSWORD: 'p'.repeat(24), JWT_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://u@127.0.0.1/db' };
const pem = () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(), publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString() };
};
const claims = () => ({ sub: 'u', iss: 'opsdesk-auth', aud: 'opsdesk-api', exp: Math.floor(Date.now() / 1000) + 60 });

describe('auth access-token keys', () => {
  it('EdDSA: signs with JWT_PRIVATE_KEY under its thumbprint and publishes it first, then the previous keys', async () => {
    const current = pem();
    const prev1 = pem();
    const prev2 = pem();
    const config = loadAuthConfig({ ...base, JWT_PRIVATE_KEY: current.privatePem, JWT_PREVIOUS_PUBLIC_KEYS: `${prev1.publicPem},${Buffer.from(prev2.publicPem).toString('base64')},${current.publicPem}` });
    expect(config.JWT_ALGORITHM).toBe('EdDSA');
    const keys = new AccessTokenKeys(config);
    expect(keys.ephemeral).toBe(false);
    expect(keys.kid).toBe(ed25519Thumbprint(current.publicKey));
    // the current key listed again among the previous ones is published once
    expect(keys.jwks()).toEqual({ keys: [current, prev1, prev2].map((k) => ed25519PublicJwk(k.publicKey)) });
    const token = keys.sign(claims());
    const found = await verifyJwt(token, { alg: 'EdDSA', resolve: (kid) => (kid === keys.kid ? createPublicKey(current.privateKey) : null) }, { issuer: 'opsdesk-auth', audience: 'opsdesk-api' });
    expect(found.sub).toBe('u');
    expect(JSON.stringify(keys.jwks())).not.toMatch(/"d"/);
  });

  it('HS256: signs with JWT_SECRET and publishes nothing', () => {
    const keys = new AccessTokenKeys(loadAuthConfig({ ...base, JWT_ALGORITHM: 'HS256' }));
    expect(keys.kid).toBeNull();
    expect(keys.jwks()).toEqual({ keys: [] });
    expect(JSON.parse(Buffer.from(keys.sign(claims()).split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('development without a key: an ephemeral one for this process', () => {
    const keys = new AccessTokenKeys(loadAuthConfig(base));
    expect(keys.ephemeral).toBe(true);
    expect(keys.jwks().keys).toHaveLength(1);
  });

  it.each(['production', 'staging'])('%s with EdDSA and no JWT_PRIVATE_KEY is refused, naming it; HS256 needs none', (environment) => {
    expect(() => loadAuthConfig({ ...base, ENVIRONMENT: environment })).toThrow(new ConfigError('JWT_PRIVATE_KEY', `is required in ${environment} when JWT_ALGORITHM is EdDSA`));
    expect(loadAuthConfig({ ...base, ENVIRONMENT: environment, JWT_ALGORITHM: 'HS256' }).JWT_ALGORITHM).toBe('HS256');
    expect(loadAuthConfig({ ...base, ENVIRONMENT: environment, JWT_PRIVATE_KEY: pem().privatePem }).JWT_PRIVATE_KEY).toContain('PRIVATE KEY');
  });

  it('refuses a key that is not Ed25519, and a private key among the previous public keys', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => loadAuthConfig({ ...base, JWT_PRIVATE_KEY: rsa })).toThrow(/^Invalid configuration: JWT_PRIVATE_KEY must be an Ed25519 private key/);
    expect(() => loadAuthConfig({ ...base, JWT_PREVIOUS_PUBLIC_KEYS: pem().privatePem })).toThrow(/^Invalid configuration: JWT_PREVIOUS_PUBLIC_KEYS must be a public key, not a private key/);
  });
});
