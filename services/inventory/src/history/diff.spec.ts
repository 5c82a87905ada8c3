import { diffHost } from './diff';

const base = {
  id: 'x',
  hostname: 'web-1',
  fqdn: null,
  ip: '10.0.0.1',
  os: 'linux',
  environment: 'dev',
  owner: null,
  team: 'web',
  criticality: 'low',
  tags: ['a', 'b'],
  notes: null,
  connection_method: 'direct_ssh',
  ssh_user: null,
  ssh_port: 22,
  bastion_host: null,
  bastion_port: 22,
  version: 1,
  updated_at: '2025-01-01T00:00:00.000Z',
};

describe('diffHost', () => {
  it('lists changed fields only, in canonical order, ignoring bookkeeping', () => {
    const after = { ...base, ip: '10.0.0.2', hostname: 'web-2', version: 2, updated_at: '2025-01-02T00:00:00.000Z' };
    expect(diffHost(base, after)).toEqual([
      { field: 'hostname', before: 'web-1', after: 'web-2' },
      { field: 'ip', before: '10.0.0.1', after: '10.0.0.2' },
    ]);
  });

  it('compares tags as arrays and treats undefined as null', () => {
    expect(diffHost(base, { ...base, tags: ['a', 'b'] })).toEqual([]);
    expect(diffHost(base, { ...base, tags: ['a'] })).toEqual([{ field: 'tags', before: ['a', 'b'], after: ['a'] }]);
    const noOwner: Record<string, unknown> = { ...base };
    delete noOwner.owner;
    expect(diffHost(base, noOwner)).toEqual([]);
    expect(diffHost(base, { ...base, notes: 'hello' })).toEqual([{ field: 'notes', before: null, after: 'hello' }]);
  });

  it('a create lists every field that got a value; a delete every field that had one', () => {
    const created = diffHost(null, base);
    expect(created.map((c) => c.field)).toEqual(['hostname', 'ip', 'os', 'environment', 'team', 'criticality', 'tags', 'connection_method', 'ssh_port', 'bastion_port']);
    expect(created.every((c) => c.before === null)).toBe(true);
    const deleted = diffHost(base, null);
    expect(deleted.map((c) => c.field)).toEqual(created.map((c) => c.field));
    expect(deleted.every((c) => c.after === null)).toBe(true);
  });
});
