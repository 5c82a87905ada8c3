import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/** Runs a compiled service entry point (npm test builds dist/ before jest) with a given environment. */
function boot(service: string, env: Record<string, string>) {
  const main = join(ROOT, 'dist', 'services', service, 'src', 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first (npm test does)`);
  return spawnSync(process.execPath, [main], {
    cwd: '/tmp', // no repository .env may leak in
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe.each(['auth', 'gateway'])('%s refuses a bad configuration at start', (service) => {
  it('exits non-zero with one line naming JWT_SECRET when it is too short in production', () => {
    const r = boot(service, {
      ENVIRONMENT: 'production',
      JWT_SECRET: 'only-twenty-chars-xx',
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      NATS_URL: 'nats://127.0.0.1:1',
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
    });
    expect(r.status).not.toBe(0);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Invalid configuration: (DATABASE_URL|REQUEST_TIMEOUT) /);
  });
});

describe('auth refuses to sign access tokens without its key in production', () => {
  it('exits non-zero with one line naming JWT_PRIVATE_KEY when EdDSA has no key in production', () => {
    const r = boot('auth', {
      ENVIRONMENT: 'production',
      JWT_SECRET: 'x'.repeat(40),
      DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none',
      NATS_URL: 'nats://127.0.0.1:1',
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
