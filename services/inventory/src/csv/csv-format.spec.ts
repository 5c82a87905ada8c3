import { copyLine, mapHeader, normalizeHeader, parseRecord } from './csv-format';

describe('header mapping', () => {
  it('maps aliases of the original format case-insensitively', () => {
    const m = mapHeader(['\uFEFFHost', 'IP Address', 'ENV', 'Operating-System', 'Labels', 'Description', 'Owner Email', 'Group', 'Priority', 'whatever']);
    expect(m.fields).toEqual(['hostname', 'ip', 'environment', 'os', 'tags', 'notes', 'owner', 'team', 'criticality', null]);
    expect(m.ignored).toEqual(['whatever']);
    expect(m.problems).toEqual([]);
    expect(normalizeHeader(' SSH Port ')).toBe('ssh_port');
  });

  it('reports missing required and ambiguous columns', () => {
    expect(mapHeader(['hostname']).problems.map((p) => p.message)).toEqual(['missing required column ip', 'missing required column environment']);
    expect(mapHeader(['hostname', 'host', 'ip', 'env']).problems[0].message).toMatch(/both map to hostname/);
  });
});

describe('parseRecord', () => {
  const header = mapHeader(['hostname', 'ip', 'environment', 'os', 'criticality', 'tags', 'notes', 'connection_method', 'ssh_user', 'ssh_port', 'bastion_host', 'bastion_port', 'fqdn']);
  const rec = (o: Record<string, string>) => header.fields.map((f) => o[f as string] ?? '');

  it('normalises a good row and applies defaults to empty cells', () => {
    const r = parseRecord(rec({ hostname: 'web-1', ip: ' 10.0.0.1 ', environment: 'Production', tags: 'B;a, c|a', fqdn: 'WEB-1.Example.com' }), header);
    expect(r.errors).toEqual([]);
    expect(r.row).toEqual({
      hostname: 'web-1',
      ip: '10.0.0.1',
      environment: 'prod',
      os: 'linux',
      criticality: 'medium',
      tags: ['a', 'b', 'c'],
      notes: null,
      connection_method: 'direct_ssh',
      ssh_user: null,
      ssh_port: 22,
      bastion_host: null,
      bastion_port: 22,
      fqdn: 'web-1.example.com',
    });
  });

  it('reports every bad field by name', () => {
    const r = parseRecord(
      rec({ hostname: 'bad_host', ip: '1.2.3', environment: 'qa', os: 'beos', criticality: 'meh', tags: 'ok,Not!ok', ssh_user: 'a;b', ssh_port: '99999', bastion_host: 'x y', bastion_port: 'abc', connection_method: 'telnet', fqdn: 'nodots' }),
      header,
    );
    expect(r.errors.map((e) => e.field)).toEqual(['hostname', 'ip', 'environment', 'os', 'criticality', 'tags', 'connection_method', 'ssh_user', 'ssh_port', 'bastion_host', 'bastion_port', 'fqdn']);
  });

  it('requires a bastion host for bastion_ssh', () => {
    const r = parseRecord(rec({ hostname: 'a', ip: '10.0.0.1', environment: 'dev', connection_method: 'bastion_ssh' }), header);
    expect(r.errors).toEqual([{ field: 'bastion_host', message: expect.stringContaining('required') }]);
  });

  it('un-neutralises cells and warns about formula-like text', () => {
    const r = parseRecord(rec({ hostname: 'a', ip: '10.0.0.1', environment: 'dev', notes: "'=1+1" }), header);
    expect(r.row.notes).toBe('=1+1');
    expect(r.warnings).toEqual([{ field: 'notes', message: expect.stringContaining('formula') }]);
    expect(r.errors).toEqual([]);
  });

  it('encodes COPY csv with NULL for absent/empty and an array literal for tags', () => {
    expect(copyLine(7, { hostname: 'a"b', ip: '10.0.0.1', tags: ['x', 'y'], notes: null, ssh_port: 22 })).toBe('7,"a""b",,"10.0.0.1",,,,,,"{x,y}",,,,22,,\n');
  });
});
