import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { freePort, makeRouteTlsFiles, startOwnNatsCluster, testNatsAdmin, testNatsPasswordEnv, waitFor, type OwnNatsCluster } from '@opsdesk/testing';

/**
 * The routes of deploy/nats/nats-cluster.conf prove who they are (SPEC §7): a route sees every message whatever the
 * subject permissions say, so the cluster's route port takes only nodes holding a certificate of the cluster's CA.
 * A process that reaches the route port with the cluster's name and every login's password, but without that
 * certificate (none, or one of another CA), joins nothing and sees no message; the real nodes keep talking.
 */
jest.setTimeout(120_000);

let cluster: OwnNatsCluster;
let dir = '';

beforeAll(async () => {
  cluster = await startOwnNatsCluster();
  dir = mkdtempSync(join(tmpdir(), 'opsdesk-nats-routes-'));
});

afterAll(async () => {
  await cluster?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** a fourth node from node 1's own config (cluster name, routes, logins), changed by `mutate` */
async function startIntruder(label: string, mutate: (conf: string) => string): Promise<{ proc: ChildProcess; url: string; log: string }> {
  const port = await freePort();
  const log = join(dir, `${label}.log`);
  const conf = mutate(readFileSync(cluster.nodes[0].conf, 'utf8'))
    .replace(/^server_name:.*$/m, `server_name: intruder-${label}`)
    .replace(/^listen:.*$/m, `listen: 127.0.0.1:${port}`)
    .replace(/(cluster \{[\s\S]*?)listen:.*$/m, `$1listen: 127.0.0.1:${await freePort()}`)
    .replace(/store_dir:.*$/m, `store_dir: ${JSON.stringify(join(dir, label))}`);
  const file = join(dir, `${label}.conf`);
  writeFileSync(file, conf);
  const passwords = testNatsPasswordEnv();
  const proc = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', file, '-l', log], { stdio: 'ignore', env: { ...process.env, ...passwords } });
  return { proc, url: `nats://127.0.0.1:${port}`, log };
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGKILL');
  });
}

const readLog = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

it.each([
  ['no certificate', 'nocert', (conf: string) => conf.replace(/\n  tls \{[\s\S]*?\n  \}\n/, '\n')],
  ['a certificate of another CA', 'otherca', (conf: string) => {
    // a CA and certificate made the same way, for the same names: only the CA differs
    const other = join(dir, 'other-ca');
    mkdirSync(other);
    makeRouteTlsFiles(other);
    return conf.split(cluster.nodes[0].routeTlsDir).join(`${other}/`);
  }],
])('a node with %s cannot join as a route and sees no message; the cluster keeps working', async (_what, label, mutate) => {
  const { url } = cluster;
  if (label === 'nocert') expect(readFileSync(cluster.nodes[0].conf, 'utf8')).toMatch(/cluster \{[\s\S]*tls \{[\s\S]*ca_file/);
  const intruder = await startIntruder(label, mutate);
  const opened: NatsConnection[] = [];
  try {
    const on = async (servers: string) => {
      const nc = await connect({ servers, reconnect: false, ...testNatsAdmin() });
      opened.push(nc);
      return nc;
    };
    const spy = await waitFor(() => on(intruder.url).catch(() => null), { timeoutMs: 15_000, what: `the ${label} node to take clients` });
    // it really tries: its routes dial the cluster's nodes (and are refused there)
    await waitFor(() => /Route connection created|TLS route handshake error|Router connection closed/.test(readLog(intruder.log)), {
      timeoutMs: 20_000,
      what: `the ${label} node to dial the cluster's routes`,
    });
    const seen: string[] = [];
    const spySub = spy.subscribe('probe.>', { callback: (_e, m) => seen.push(m.subject) });
    await spy.flush();

    // control: what node 1 publishes reaches a subscriber on node 2 (the routes between the real nodes work)
    const n1 = await on(`nats://127.0.0.1:${cluster.nodes[0].port}`);
    const n2 = await on(`nats://127.0.0.1:${cluster.nodes[1].port}`);
    const got: string[] = [];
    n2.subscribe('probe.>', { callback: (_e, m) => got.push(m.subject) });
    await n2.flush();
    await waitFor(
      async () => {
        n1.publish('probe.warmup');
        await n1.flush();
        return got.length > 0;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'node 2 to receive what node 1 publishes' },
    );
    // a few seconds of traffic on every real node while the intruder keeps retrying its routes
    for (let i = 0; i < 30; i++) {
      for (const nc of [n1, n2]) nc.publish(`probe.${label}.${i}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await n1.flush();
    await n2.flush();
    await spy.flush();
    expect(got.filter((s) => s.startsWith(`probe.${label}.`)).length).toBeGreaterThanOrEqual(30);
    expect(seen).toEqual([]);
    spySub.unsubscribe();
    // and JetStream still answers on the third node (its meta group is the three real nodes)
    const jsm = await (await on(url.split(',')[2])).jetstreamManager();
    await expect(jsm.getAccountInfo()).resolves.toHaveProperty('api');
  } finally {
    for (const nc of opened) await nc.close().catch(() => undefined);
    await stop(intruder.proc);
  }
});
