import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { contextKeyEnv } from '@opsdesk/testing';

const ROOT = join(__dirname, '..', '..', '..');

/** Runs a compiled service entry point (npm test builds dist/ before jest) with a given environment. */
function boot(service: string, env: Record<string, string>) {
  const main = join(ROOT, 'dist', 'services', service, 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  return spawnSync(process.execPath, [main], {
    cwd: '/tmp', // no repository .env may leak in
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 60_000, // config is checked before anything connects; the margin is for loaded CI machines (20 s was hit at load 13)
  });
}

jest.setTimeout(240_000); // each test boots the service up to three times
describe.each(['auth', 'gateway'])('%s refuses a bad configuration at start', (service) => {
  // valid caller-context keys, so the variable under test is the one that is refused
  const keys = contextKeyEnv() as Record<string, string>;
  it('exits non-zero with one line naming JWT_SECRET when it is too short in production', () => {
    const r = boot(service, {
      ENVIRONMENT: 'production',
      JWT_SECRET: 'only-twenty-chars-xx',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      NATS_URL: 'nats://127.0.0.1:1',
      ...keys,
    });
    expect(r.status).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toEqual(['Invalid configuration: JWT_SECRET must be at least 32 characters in production']);
  });

  it('names a malformed variable', () => {
    const r = boot(service, {
      JWT_SECRET: 'x'.repeat(40),
      DATABASE_URL: 'mysql://nope',
      REQUEST_TIMEOUT: 'soon',
      ...keys,
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Invalid configuration: (DATABASE_URL|REQUEST_TIMEOUT) /);
  });

  it('refuses to start without its caller-context key, or with a wrong one, naming it', () => {
    const variable = service === 'gateway' ? 'GATEWAY_CONTEXT_PRIVATE_KEY' : 'GATEWAY_CONTEXT_PUBLIC_KEY';
    const { [variable]: _missing, ...others } = keys;
    const base = { JWT_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', NATS_URL: 'nats://127.0.0.1:1', ...others };
    const r = boot(service, base);
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([`Invalid configuration: ${variable} is required`]);
    // the other half of the pair where this one belongs, and garbage
    const otherHalf = service === 'gateway' ? keys.GATEWAY_CONTEXT_PUBLIC_KEY : keys.GATEWAY_CONTEXT_PRIVATE_KEY;
    for (const value of [otherHalf, 'bm90LWEta2V5']) {
      const wrong = boot(service, { ...base, [variable]: value });
      expect(wrong.status).not.toBe(0);
      expect(wrong.stderr.trim().split('\n')).toEqual([expect.stringMatching(new RegExp(`^Invalid configuration: ${variable} must be an Ed25519 (private|public) key`))]);
    }
  });
});

describe('auth refuses to sign access tokens without its key in production', () => {
  it('exits non-zero with one line naming JWT_PRIVATE_KEY when EdDSA has no key in production', () => {
    const r = boot('auth', {
      ENVIRONMENT: 'production',
      JWT_SECRET: 'x'.repeat(40),
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      NATS_URL: 'nats://127.0.0.1:1',
      // everything else production needs is there: the one missing piece is the signing key
      NATS_USER: 'auth',
      NATS_PASSWORD: 'p'.repeat(24),
      GATEWAY_CONTEXT_PUBLIC_KEY: contextKeyEnv().GATEWAY_CONTEXT_PUBLIC_KEY as string,
    });
    expect(r.status).toBe(78);
    expect(r.stderr.trim().split('\n')).toEqual(['Invalid configuration: JWT_PRIVATE_KEY is required in production when JWT_ALGORITHM is EdDSA']);
  });

  it('names JWT_PRIVATE_KEY when it is not an Ed25519 key', () => {
    const r = boot('auth', { JWT_SECRET: 'x'.repeat(40), DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', JWT_PRIVATE_KEY: 'not-a-key' });
    expect(r.status).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Invalid configuration: JWT_PRIVATE_KEY must be an Ed25519 private key/);
  });
});
