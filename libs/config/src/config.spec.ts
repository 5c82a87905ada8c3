import { ConfigError, commonEnvShape, corsOriginsSchema, jwtEnvShape, natsServers, parseConfig } from './config';

const shape = { ...commonEnvShape, ...jwtEnvShape };

describe('parseConfig', () => {
  it('applies defaults', () => {
    const c = parseConfig(shape, { JWT_SECRET: 'x'.repeat(20) });
    expect(c.ENVIRONMENT).toBe('development');
    expect(c.JWT_ALGORITHM).toBe('EdDSA');
    expect(c.JWT_EXPIRATION_HOURS).toBe(24);
    expect(c.REQUEST_TIMEOUT).toBe(30);
  });

  it('refuses a short JWT secret in production with a message naming the variable', () => {
    expect(() => parseConfig(shape, { ENVIRONMENT: 'production', JWT_SECRET: 'short-but-16-chars!' })).toThrow(
      new ConfigError('JWT_SECRET', 'must be at least 32 characters in production'),
    );
  });

  it('accepts a 32-character secret in production', () => {
    expect(parseConfig(shape, { ENVIRONMENT: 'production', JWT_SECRET: 'a'.repeat(32) }).JWT_SECRET).toHaveLength(32);
  });

  it('names a missing required variable', () => {
    try {
      parseConfig(shape, {});
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as Error).message).toBe('Invalid configuration: JWT_SECRET is required');
    }
  });

  it('rejects a bad enum value', () => {
    expect(() => parseConfig(shape, { JWT_SECRET: 'x'.repeat(20), JWT_ALGORITHM: 'none' })).toThrow(/JWT_ALGORITHM/);
    // RS256 is not on the allow-list either: only EdDSA and the guide's HS* algorithms
    expect(() => parseConfig(shape, { JWT_SECRET: 'x'.repeat(20), JWT_ALGORITHM: 'RS256' })).toThrow(/JWT_ALGORITHM/);
    for (const alg of ['EdDSA', 'HS256', 'HS384', 'HS512']) expect(parseConfig(shape, { JWT_SECRET: 'x'.repeat(20), JWT_ALGORITHM: alg }).JWT_ALGORITHM).toBe(alg);
  });

  it('treats empty strings as unset', () => {
    expect(parseConfig(shape, { JWT_SECRET: 'x'.repeat(20), LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
  });

  it('splits a NATS cluster URL list', () => {
    expect(natsServers('nats://a:4222, nats://b:4222')).toEqual(['nats://a:4222', 'nats://b:4222']);
  });

  it('parses CORS origins from a JSON array or a list, and rejects junk', () => {
    expect(corsOriginsSchema.parse('["https://a.example.com", "https://b.example.com"]')).toEqual([
      'https://a.example.com',
      'https://b.example.com',
    ]);
    expect(corsOriginsSchema.parse('http://localhost:3000')).toEqual(['http://localhost:3000']);
    expect(corsOriginsSchema.safeParse('[1,2]').success).toBe(false);
  });
});
