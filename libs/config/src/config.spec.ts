import { ConfigError, commonEnvShape, corsOriginsSchema, trustProxySchema, jwtEnvShape, natsServers, parseConfig } from './config';

const shape = { ...commonEnvShape, ...jwtEnvShape };

describe('parseConfig', () => {
  it('applies defaults', () => {
    const c = parseConfig(shape, { ENVIRONMENT: 'development', JWT_SECRET: 'x'.repeat(20) });
    expect(c.ENVIRONMENT).toBe('development');
    expect(c.JWT_ALGORITHM).toBe('EdDSA');
    expect(c.JWT_EXPIRATION_HOURS).toBe(24);
    expect(c.REQUEST_TIMEOUT).toBe(30);
  });

  it('treats an unset ENVIRONMENT as production (its checks apply)', () => {
    expect(() => parseConfig(shape, { JWT_SECRET: 'x'.repeat(20) })).toThrow(new ConfigError('JWT_SECRET', 'must be at least 32 characters in production'));
    const c = parseConfig(shape, { JWT_SECRET: 'x'.repeat(32), NATS_USER: 'auth', NATS_PASSWORD: 'p'.repeat(24) });
    expect(c.ENVIRONMENT).toBe('production');
  });

  it('refuses a short JWT secret in production with a message naming the variable', () => {
    expect(() => parseConfig(shape, { ENVIRONMENT: 'production', JWT_SECRET: 'short-but-16-chars!' })).toThrow(
      new ConfigError('JWT_SECRET', 'must be at least 32 characters in production'),
    );
  });

  it('accepts a 32-character secret in production', () => {
    // production also needs the service's own NATS login (next test)
    const prod = { ENVIRONMENT: 'production', JWT_SECRET: 'a'.repeat(32), NATS_USER: 'auth', NATS_PASSWORD: 'p'.repeat(24) };
    expect(parseConfig(shape, prod).JWT_SECRET).toHaveLength(32);
  });

  it('refuses to run without a NATS login in production (SPEC §7), naming the variable', () => {
    const prod = { ENVIRONMENT: 'production', JWT_SECRET: 'a'.repeat(32) };
    expect(() => parseConfig(shape, prod)).toThrow(new ConfigError('NATS_USER', "is required in production (the service's own NATS login)"));
    expect(() => parseConfig(shape, { ...prod, NATS_USER: 'auth' })).toThrow(
      new ConfigError('NATS_PASSWORD', "is required in production (the service's own NATS login)"),
    );
    expect(() => parseConfig(shape, { ...prod, NATS_USER: 'a.b', NATS_PASSWORD: 'p'.repeat(24) })).toThrow(/NATS_USER must be a NATS user name/);
    expect(parseConfig(shape, { ENVIRONMENT: 'development', JWT_SECRET: 'a'.repeat(32) }).NATS_USER).toBeUndefined(); // development: an open local broker is fine
  });

  it('refuses a NATS password nats-server would misread from its environment, saying how to make one', () => {
    const dev = { ENVIRONMENT: 'development', JWT_SECRET: 'a'.repeat(32), NATS_USER: 'auth' };
    // each of these stops nats-server (a date, a number, a flag) or is cut short (",") when read as $NATS_PASSWORD_AUTH
    for (const bad of ['10-6EQbdpnYiTXg1ZYUVkih4', '9G6zXnSC25xMFBaE7pCi_Smj', '-YfLn1X-lG7wGG7-akyvI0W7', 'pab,cdefgh', 'true', 'short']) {
      expect(() => parseConfig(shape, { ...dev, NATS_PASSWORD: bad })).toThrow(/NATS_PASSWORD must start with a letter .*openssl rand -hex 24/);
    }
    for (const good of ['pKz4-_9x2Qw', 'p+Ab/cD=eF==', `p${'0123456789abcdef'.repeat(3)}`]) {
      expect(parseConfig(shape, { ...dev, NATS_PASSWORD: good }).NATS_PASSWORD).toBe(good);
    }
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
    expect(() => parseConfig(shape, { ENVIRONMENT: 'development', JWT_SECRET: 'x'.repeat(20), JWT_ALGORITHM: 'none' })).toThrow(/JWT_ALGORITHM/);
    // RS256 is not on the allow-list either: only EdDSA and the guide's HS* algorithms
    expect(() => parseConfig(shape, { ENVIRONMENT: 'development', JWT_SECRET: 'x'.repeat(20), JWT_ALGORITHM: 'RS256' })).toThrow(/JWT_ALGORITHM/);
    for (const alg of ['EdDSA', 'HS256', 'HS384', 'HS512']) expect(parseConfig(shape, { ENVIRONMENT: 'development', JWT_SECRET: 'x'.repeat(20), JWT_ALGORITHM: alg }).JWT_ALGORITHM).toBe(alg);
  });

  it('treats empty strings as unset', () => {
    expect(parseConfig(shape, { ENVIRONMENT: 'development', JWT_SECRET: 'x'.repeat(20), LOG_LEVEL: '' }).LOG_LEVEL).toBe('info');
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

  it('TRUST_PROXY takes proxy addresses/CIDRs and refuses "trust every hop"', () => {
    expect(trustProxySchema.parse('')).toBe(false);
    expect(trustProxySchema.parse('false')).toBe(false);
    expect(trustProxySchema.parse('127.0.0.1, 10.0.0.0/8,fd00::/8,loopback,192.168.0.0/255.255.0.0')).toEqual([
      '127.0.0.1',
      '10.0.0.0/8',
      'fd00::/8',
      'loopback',
      '192.168.0.0/255.255.0.0',
    ]);
    for (const bad of ['true', '1', '*', '10.0.0.0/33', 'nginx', '10.0.0.1/8/1', '300.1.1.1']) expect(trustProxySchema.safeParse(bad).success).toBe(false);
    expect(() => parseConfig({ TRUST_PROXY: trustProxySchema }, { TRUST_PROXY: 'true' })).toThrow('Invalid configuration: TRUST_PROXY must list the trusted proxy addresses/CIDRs');
  });
});
