import { HostRules, createHostSchema, isIPv6, isIp, updateHostSchema } from '@opsdesk/contracts';

describe('host field rules (shared by API, import and console)', () => {
  it.each(['web', 'web-01', 'a', 'A1', '0abc', 'x'.repeat(63)])('hostname %p is valid', (v) => expect(HostRules.hostname(v)).toBeNull());
  it.each(['', '-web', 'web-', 'we_b', 'web.example.com', 'x'.repeat(64), 'wéb', 'a b'])('hostname %p is invalid', (v) => expect(HostRules.hostname(v)).not.toBeNull());

  it.each(['a.example.com', 'web-01.corp.example.org', 'x.y.'])('fqdn %p is valid', (v) => expect(HostRules.fqdn(v)).toBeNull());
  it.each(['nodots', '-a.example.com', 'a..b', 'a_b.example.com', `${'x'.repeat(64)}.com`])('fqdn %p is invalid', (v) => expect(HostRules.fqdn(v)).not.toBeNull());

  it.each(['0.0.0.0', '10.0.0.1', '255.255.255.255', '::', '::1', '2001:db8::1', 'fe80::1:2:3:4', '2001:db8:0:0:0:0:2:1', '::ffff:192.0.2.1', '1:2:3:4:5:6:7:8'])(
    'ip %p is valid',
    (v) => expect(isIp(v)).toBe(true),
  );
  it.each(['256.0.0.1', '1.2.3', '01.2.3.4', '1.2.3.4/24', '1:2:3:4:5:6:7:8:9', '1::2::3', 'fe80::1%eth0', '2001:db8::zz', ':::', '1.2.3.4 ', 'localhost'])(
    'ip %p is invalid',
    (v) => expect(isIp(v)).toBe(false),
  );
  it('full IPv6 with compression counts groups', () => {
    expect(isIPv6('1:2:3:4:5:6:7::')).toBe(true);
    expect(isIPv6('1:2:3:4:5:6:7:8::')).toBe(false);
    expect(isIPv6('1:2:3:4:5:6:1.2.3.4')).toBe(true);
    expect(isIPv6('1:2:3:4:5:6:7:1.2.3.4')).toBe(false);
  });

  it.each(['db', 'k8s:node', 'rack/a1', 'env=prod', 'a_b.c-d'])('tag %p is valid', (v) => expect(HostRules.tag(v)).toBeNull());
  it.each(['', '-x', 'Upper', 'has space', 'semi;colon', 'x'.repeat(65), '$(id)'])('tag %p is invalid', (v) => expect(HostRules.tag(v)).not.toBeNull());

  it('create: defaults, normalised tags, field errors with names', () => {
    const ok = createHostSchema.parse({ hostname: 'web-1', ip: '10.0.0.1', environment: 'dev', tags: ['B', 'a', 'b'] });
    expect(ok).toMatchObject({ os: 'linux', criticality: 'medium', connection_method: 'direct_ssh', ssh_port: 22, bastion_port: 22, tags: ['a', 'b'], fqdn: null, owner: null });
    const bad = createHostSchema.safeParse({ hostname: 'web-1', ip: '10.0.0.1', environment: 'dev', extra: 1 });
    expect(bad.success).toBe(false);
    const missing = createHostSchema.safeParse({});
    expect(missing.success ? [] : missing.error.issues.map((i) => i.path.join('.')).sort()).toEqual(['environment', 'hostname', 'ip']);
  });

  it('update: partial, at least one field, empty strings clear optional text', () => {
    expect(updateHostSchema.parse({ notes: '' })).toEqual({ notes: null });
    expect(updateHostSchema.safeParse({}).success).toBe(false);
    expect(updateHostSchema.safeParse({ ssh_port: 0 }).success).toBe(false);
  });
});
