import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { freePort } from './nats';
import { TEST_NATS_ADMIN_USER, testNatsAdmin, testNatsPasswordEnv } from './nats-auth';
import { waitFor } from './wait';

const DEPLOY_CONF = join(__dirname, '..', '..', '..', 'deploy', 'nats', 'nats-cluster.conf');

/** Where deploy/nats/nats-cluster.conf expects the route certificate, its key and the cluster's CA. */
export const ROUTE_TLS_DIR_IN_CONF = '/etc/nats-route-tls/';

/**
 * Route TLS files as deploy/nats/nats-cluster.conf names them (ca.crt, tls.crt, tls.key) in `dir`: a CA of their own
 * and one certificate, for server and client use, naming `ips` and `dns` (what the route URLs dial). As an operator
 * would make them with openssl (deploy/nats/README.md "Route TLS").
 */
export function makeRouteTlsFiles(dir: string, names: { ips?: string[]; dns?: string[] } = { ips: ['127.0.0.1'] }): void {
  const run = (args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr ?? ''}`);
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  run(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=opsdesk-nats-route-ca', '-days', '2']);
  run(['req', ...ec, '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=opsdesk-nats-route']);
  const san = [...(names.ips ?? []).map((ip) => `IP:${ip}`), ...(names.dns ?? []).map((d) => `DNS:${d}`)].join(',');
  writeFileSync(join(dir, 'ext.cnf'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  run(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '2', '-extfile', 'ext.cnf']);
}

export interface NatsNode {
  name: string;
  port: number;
  proc: ChildProcess | null;
  /** the node's config file (deploy/nats/nats-cluster.conf rewritten for loopback) */
  conf: string;
  /** the directory of the route TLS files its config names (ca.crt, tls.crt, tls.key), with a trailing slash */
  routeTlsDir: string;
}

export interface OwnNatsCluster {
  /** comma-separated client URLs, as services take NATS_URL for a cluster */
  url: string;
  nodes: NatsNode[];
  kill(name: string): Promise<void>;
  start(name: string): Promise<void>;
  cleanup(): Promise<void>;
}

/**
 * Three JetStream nodes on loopback from the deployment's own cluster config (deploy/nats/nats-cluster.conf):
 * only the addresses, ports and store directory are rewritten, so the suite tests the configuration operators run.
 */
export async function startOwnNatsCluster(): Promise<OwnNatsCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-rel-nats-'));
  const template = readFileSync(DEPLOY_CONF, 'utf8');
  // the routes' mutual TLS as shipped, with a CA of this cluster's own (the route URLs dial 127.0.0.1)
  const tlsDir = join(dir, 'route-tls');
  mkdirSync(tlsDir);
  makeRouteTlsFiles(tlsDir);
  const nodes: Array<NatsNode & { cluster: number }> = [];
  const clusterName = `opsdesk-${randomBytes(4).toString('hex')}`;
  for (let i = 1; i <= 3; i++)
    nodes.push({
      name: `nats-${i}`,
      port: await freePort(),
      cluster: await freePort(),
      proc: null,
      conf: '',
      routeTlsDir: `${tlsDir}/`,
    });
  for (const n of nodes) {
    const store = join(dir, n.name);
    mkdirSync(store);
    let conf = template
      .replace(/^server_name:.*$/m, `server_name: ${n.name}`)
      .replace(/^listen:.*$/m, `listen: 127.0.0.1:${n.port}`)
      .replace(/^http:.*$/m, '')
      .replace(/store_dir:.*$/m, `store_dir: ${JSON.stringify(store)}`)
      .replace(/(cluster \{[\s\S]*?)listen:.*$/m, `$1listen: 127.0.0.1:${n.cluster}`)
      // a name of its own: nats-server refuses routes from another cluster name, so two suites' clusters can never
      // join each other (their nodes share the names nats-1..3, which would wreck both JetStream meta groups)
      .replace(/(cluster \{\s*)name:.*$/m, `$1name: ${clusterName}`)
      .split(ROUTE_TLS_DIR_IN_CONF)
      .join(`${tlsDir}/`);
    for (const [i, o] of nodes.entries())
      conf = conf.replace(`nats-route://nats-${i + 1}:6222`, `nats-route://127.0.0.1:${o.cluster}`);
    // the operators' logins and permissions as shipped, plus the suite's own observer (consumer info, the poison
    // message); passwords come from the environment as in production (NATS_PASSWORD_<LOGIN>)
    const admin = testNatsAdmin();
    conf = conf.replace(/authorization \{\n  users: \[\n/, (m) => `${m}    { user: ${JSON.stringify(TEST_NATS_ADMIN_USER)}, password: ${JSON.stringify(admin.pass)} }\n`);
    if (!conf.includes(TEST_NATS_ADMIN_USER)) throw new Error(`could not add the suite's login to ${DEPLOY_CONF}`);
    if (conf.includes('0.0.0.0') || conf.includes(':6222') || !conf.includes(`name: ${clusterName}`) || !conf.includes(`${tlsDir}/tls.crt`))
      throw new Error(`could not rewrite ${DEPLOY_CONF} for loopback`);
    n.conf = join(dir, `${n.name}.conf`);
    writeFileSync(n.conf, conf);
  }
  const bin = process.env.NATS_SERVER_BIN ?? 'nats-server';
  const logOf = (name: string) => join(dir, `${name}.log`);
  /** the last lines each node logged, for an error that explains itself */
  const tails = (lines = 15) =>
    nodes
      .map((n) => {
        let text = '';
        try {
          text = readFileSync(logOf(n.name), 'utf8');
        } catch {
          text = '(no log)';
        }
        const exit = n.proc && n.proc.exitCode !== null ? ` (exited ${n.proc.exitCode})` : '';
        return `--- ${n.name}${exit}, client ${n.port}, cluster ${n.cluster}:\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
      })
      .join('\n');
  const start = async (name: string) => {
    const n = nodes.find((x) => x.name === name)!;
    const passwords = testNatsPasswordEnv();
    // each node logs to its own file (appended across restarts), so a cluster that does not form says why
    n.proc = spawn(bin, ['-c', n.conf, '-l', logOf(n.name)], { stdio: 'ignore', env: { ...process.env, ...passwords } });
  };
  const kill = async (name: string) => {
    const n = nodes.find((x) => x.name === name)!;
    const p = n.proc;
    n.proc = null;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  };
  for (const n of nodes) await start(n.name);
  const url = nodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
  // JetStream is usable once the meta group has a leader: a stream can then be listed
  await waitFor(
    async () => {
      const nc = await connect({ servers: url.split(','), timeout: 1000, ...testNatsAdmin() }).catch(() => null);
      if (!nc) return false;
      try {
        const jsm = await nc.jetstreamManager();
        await jsm.streams.list().next();
        return true;
      } catch {
        return false;
      } finally {
        await nc.close();
      }
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'the 3-node NATS cluster to elect a JetStream leader' },
  ).catch(async (e: unknown) => {
    const why = `${e instanceof Error ? e.message : String(e)}\n${tails()}`;
    for (const n of nodes) await kill(n.name);
    throw new Error(why);
  });
  return {
    url,
    nodes,
    kill,
    start,
    async cleanup() {
      for (const n of nodes) await kill(n.name);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
