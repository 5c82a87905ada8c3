/**
 * `npm run seed:demo`: ~200 realistic hosts across environments, teams and tags for a first look.
 * Idempotent: hosts are deterministic and an existing hostname is left as it is. Writes through the
 * hosts service, so every host gets its revision and its inventory.host.created event (outbox).
 */
import { loadConfigOrExit, loadEnvFile, loadRunningSystemEnv } from '@opsdesk/config';
import { createHostSchema, type CreateHostRequest, type RpcContext } from '@opsdesk/contracts';
import { runMigrations } from '@opsdesk/database';
import { OutboxWriter } from '@opsdesk/messaging';
import { inventoryEnvShape } from './config/inventory.config';
import { createDataSource } from './database/data-source';
import { HostsRepository } from './hosts/hosts.repository';
import { HostsService } from './hosts/hosts.service';

const TEAMS = [
  { team: 'payments', owner: 'payments-oncall@example.com', roles: ['api', 'db', 'worker'] },
  { team: 'platform', owner: 'platform@example.com', roles: ['k8s', 'ingress', 'monitoring'] },
  { team: 'web', owner: 'web-team@example.com', roles: ['web', 'cdn', 'cache'] },
  { team: 'data', owner: 'data-eng@example.com', roles: ['kafka', 'spark', 'db'] },
  { team: 'corp-it', owner: 'it-helpdesk@example.com', roles: ['ad', 'fileserver', 'build'] },
];
const ENVS = ['prod', 'prod', 'stage', 'dev'] as const;
const SITES = ['fra1', 'ams2', 'nyc3'];

/** Deterministic demo hosts (same list on every run). */
export function demoHosts(count = 200): CreateHostRequest[] {
  const out: CreateHostRequest[] = [];
  for (let i = 0; i < count; i++) {
    const t = TEAMS[i % TEAMS.length];
    const role = t.roles[Math.floor(i / TEAMS.length) % t.roles.length];
    const env = ENVS[i % ENVS.length];
    const site = SITES[i % SITES.length];
    const n = String(Math.floor(i / 4) + 1).padStart(3, '0');
    const hostname = `${role}-${env}-${site}-${n}`;
    const os = t.team === 'corp-it' && role !== 'build' ? 'windows' : role === 'build' && i % 2 ? 'macos' : 'linux';
    const criticality = env === 'prod' ? (role === 'db' || role === 'api' ? 'critical' : 'high') : env === 'stage' ? 'medium' : 'low';
    const bastion = env === 'prod' && os === 'linux';
    out.push(
      createHostSchema.parse({
        hostname,
        fqdn: `${hostname}.${site}.example.internal`,
        ip: `10.${ENVS.indexOf(env) * 10 + SITES.indexOf(site)}.${Math.floor(i / 250)}.${(i % 250) + 1}`,
        os,
        environment: env,
        owner: t.owner,
        team: t.team,
        criticality,
        tags: [role, `site:${site}`, t.team, ...(i % 7 === 0 ? ['pci'] : []), ...(i % 11 === 0 ? ['legacy'] : [])],
        notes: i % 13 === 0 ? `Migrating to new hardware in Q${(i % 4) + 1}` : null,
        connection_method: bastion ? 'bastion_ssh' : 'direct_ssh',
        ssh_user: os === 'windows' ? 'Administrator' : os === 'macos' ? 'admin' : 'deploy',
        ssh_port: 22,
        bastion_host: bastion ? `bastion.${site}.example.internal` : null,
        bastion_port: 22,
      }),
    );
  }
  return out;
}

export async function seedDemo(env: NodeJS.ProcessEnv = process.env): Promise<{ created: number; existing: number }> {
  // a command-line tool answers no RPC: it needs none of the service's caller-context keys
  const { GATEWAY_CONTEXT_PUBLIC_KEY: _gateway, ARTIFACTS_CONTEXT_PUBLIC_KEY: _artifacts, ...shape } = { ...inventoryEnvShape };
  const config = loadConfigOrExit(shape, env);
  const ds = createDataSource(config.DATABASE_URL);
  await ds.initialize();
  try {
    await runMigrations(ds);
    const hosts = new HostsService(new HostsRepository(ds, new OutboxWriter({ schema: 'inventory', source: 'inventory', subjectPrefix: config.EVENTS_SUBJECT_PREFIX })));
    const ctx: RpcContext = { actor: { user_id: null, email: 'system:seed-demo', ip: null, user_agent: null }, request_id: null };
    let created = 0;
    let existing = 0;
    for (const h of demoHosts()) {
      const [row]: Array<{ ok: number }> = await ds.query(`SELECT 1 AS ok FROM inventory.hosts WHERE lower(hostname) = lower($1) OR ip = $2::inet`, [h.hostname, h.ip]);
      if (row) {
        existing++;
        continue;
      }
      await hosts.create(h, ctx, 'seed');
      created++;
    }
    return { created, existing };
  } finally {
    await ds.destroy();
  }
}

if (require.main === module) {
  loadEnvFile();
  loadRunningSystemEnv();
  seedDemo()
    .then((r) => process.stdout.write(`seed:demo: ${r.created} hosts created, ${r.existing} already there\n`))
    .catch((err: unknown) => {
      process.stderr.write(`seed:demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
