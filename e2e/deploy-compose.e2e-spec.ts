import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';
import { DEPLOY, isRecord } from './support/deploy-files';

/**
 * The compose files against the Compose Specification's JSON schema (vendored: deploy/schema/compose-spec.json,
 * from github.com/compose-spec/compose-spec schema/compose-spec.json), plus issue 13's findings as checks:
 * no Docker engine runs here, so what compose would do with the files is checked statically.
 */
const FILES = ['docker-compose.yml', 'docker-compose.prod.yml'];
const load = (file: string): Record<string, unknown> => {
  // merge keys (<<: *anchor) as compose resolves them
  const doc: unknown = parse(readFileSync(join(DEPLOY, file), 'utf8'), { merge: true });
  if (!isRecord(doc)) throw new Error(`${file} is not a mapping`);
  return doc;
};
const services = (doc: Record<string, unknown>): Record<string, Record<string, unknown>> =>
  Object.fromEntries(Object.entries(isRecord(doc.services) ? doc.services : {}).filter((e): e is [string, Record<string, unknown>] => isRecord(e[1])));
const envOf = (svc: Record<string, unknown>): Record<string, string> => (isRecord(svc.environment) ? (svc.environment as Record<string, string>) : {});

describe('deploy: docker compose files', () => {
  // "$schema" names draft-07 as https://…/schema, an alias ajv does not register; ajv's default IS draft-07
  const { $schema: _draft07, ...schema } = JSON.parse(readFileSync(join(DEPLOY, 'schema', 'compose-spec.json'), 'utf8')) as Record<string, unknown>;
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  const validate = ajv.compile(schema);

  it.each(FILES)('%s is valid against the Compose Specification schema', (file) => {
    const ok = validate(load(file));
    expect({ file, errors: ok ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`) }).toEqual({ file, errors: [] });
  });

  it('the schema check is real: a misspelt key and an unknown depends_on condition are refused', () => {
    const doc = load('docker-compose.yml');
    const bad = { ...doc, services: { ...services(doc), gateway: { ...services(doc).gateway, restrat: 'always' } } };
    expect(validate(bad)).toBe(false);
    const badCondition = { ...doc, services: { ...services(doc), proxy: { ...services(doc).proxy, depends_on: { gateway: { condition: 'service_ready' } } } } };
    expect(validate(badCondition)).toBe(false);
  });

  it('binds every published port to 127.0.0.1 except the proxy (nginx 80/443)', () => {
    const published: string[] = [];
    for (const file of FILES)
      for (const [name, svc] of Object.entries(services(load(file))))
        for (const p of Array.isArray(svc.ports) ? svc.ports.map(String) : []) if (!p.startsWith('127.0.0.1:')) published.push(`${name} ${p}`);
    expect(published.sort()).toEqual(['proxy 443:443', 'proxy 80:80']);
    expect(services(load('docker-compose.yml')).gateway.ports).toEqual(['127.0.0.1:8000:8000']);
  });

  it("the exporter connects without TLS to the compose Postgres (which has none), the migrate container cannot start without ADMIN_PASSWORD", () => {
    const svc = services(load('docker-compose.yml'));
    expect(envOf(svc['postgres-exporter']).DATA_SOURCE_NAME).toMatch(/\?sslmode=disable$/);
    expect(JSON.stringify(svc.postgres)).not.toMatch(/ssl=on/);
    // `:?` makes compose refuse the whole `up` (nothing is committed) instead of seeding an admin whose
    // generated password the read-only container cannot save
    expect(envOf(svc.migrate).ADMIN_PASSWORD).toMatch(/^\$\{ADMIN_PASSWORD:\?/);
  });

  it('the proxy mounts every file of the edge the config includes, where nginx.conf includes it from', () => {
    const proxy = services(load('docker-compose.yml')).proxy as { volumes?: string[] };
    const mounts = new Map((proxy.volumes ?? []).map((v) => v.split(':')).map(([from, to]) => [from, to]));
    // the host/compose layout: deploy/nginx minus the Kubernetes edge's own files (deploy/nginx/kubernetes)
    const files = readdirSync(join(DEPLOY, 'nginx'), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && e.name.endsWith('.conf') && !e.parentPath.includes('kubernetes'))
      .map((e) => relative(join(DEPLOY, 'nginx'), join(e.parentPath, e.name)));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const f of files) expect({ f, to: mounts.get(`./nginx/${f}`) }).toEqual({ f, to: `/etc/nginx/${f}` });
  });

  it("nginx's upstreams name compose services that run the gateway (public and internal port) and artifacts on the ports they listen on", () => {
    const http = readFileSync(join(DEPLOY, 'nginx', 'conf.d', 'opsdesk-upstreams.conf'), 'utf8');
    const svc = services(load('docker-compose.yml'));
    // the one-hop artifact routes (opsdesk.conf) ask the gateway's internal port for a ticket and stream to artifacts
    for (const [name, service, portVar] of [
      ['opsdesk_gateway', 'gateway', 'GATEWAY_PORT'],
      ['opsdesk_gateway_internal', 'gateway', 'GATEWAY_INTERNAL_PORT'],
      ['opsdesk_artifacts', 'artifacts', 'ARTIFACTS_PORT'],
    ] as const) {
      const upstream = new RegExp(`upstream ${name} \\{([\\s\\S]*?)\\}`).exec(http)?.[1] ?? '';
      const servers = [...upstream.matchAll(/^\s*server\s+([\w.-]+):(\d+)/gm)].map((m) => ({ host: m[1], port: m[2] }));
      expect({ name, servers: servers.length > 0 }).toEqual({ name, servers: true });
      for (const s of servers) {
        expect(Object.keys(svc)).toContain(s.host);
        expect(envOf(svc[s.host])).toMatchObject({ SERVICE: service, [portVar]: s.port });
      }
    }
  });

  it('Postgres allows the connection budget the services check at start (4 processes × (20 + 10) + reserved)', () => {
    const svc = services(load('docker-compose.yml'));
    const cmd = (svc.postgres.command as string[]).join(' ');
    const max = Number(/max_connections=(\d+)/.exec(cmd)?.[1]);
    const processes = Number(/^\$\{DB_CLIENT_PROCESSES:-(\d+)\}$/.exec(envOf(svc.auth).DB_CLIENT_PROCESSES)?.[1]);
    const withDb = Object.values(svc).filter((s) => typeof envOf(s).SERVICE === 'string' && envOf(s).SERVICE !== 'gateway').length;
    expect(processes).toBe(withDb);
    // the config defaults: pool 20 + overflow 10, 10 reserved, Postgres' 3 superuser slots
    expect(processes * 30).toBeLessThanOrEqual(max - 3 - 10);
    // and WAL archiving for point-in-time recovery within the 15-minute RPO
    expect(cmd).toContain('archive_mode=on');
    expect(Number(/archive_timeout=(\d+)/.exec(cmd)?.[1])).toBeLessThanOrEqual(900);
  });
});
