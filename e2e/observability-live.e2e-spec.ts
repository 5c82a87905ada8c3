import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { connect } from 'nats';
import { parse, stringify } from 'yaml';
import { OutboxWriter, dismissDeadLetter } from '@opsdesk/messaging';
import { freePort, startOwnNatsServer, startOwnPostgres, testNatsAdmin, waitFor, type OwnNatsServer, type OwnPostgres } from '@opsdesk/testing';
import { startStack, urlOf, type Stack } from './support/stack';

/**
 * The alerts against the running system: a real Prometheus scrapes the real services (through the Kubernetes
 * scrape config's relabelling, fed by file discovery with the labels the pod discovery would give) and
 * evaluates the real rule expressions, with only their windows, `for` and the outbox age threshold shortened
 * (scaled, see testRules). Postgres and NATS are this suite's own (the shared ones are never stopped):
 *   stop Postgres → OpsDeskDatabaseConnectionErrors and OpsDeskServiceNotReady fire, and resolve after restart;
 *   stop NATS → OpsDeskNatsDisconnected and OpsDeskOutboxBacklogAgeHigh fire, and resolve after restart;
 *   a poison message → OpsDeskDeadLetters fires and stays firing until the letter is dismissed.
 * Runtime: about two minutes (each phase waits for Prometheus, polling with deadlines).
 */
const ROOT = join(__dirname, '..');
const PROMETHEUS_DIR = join(ROOT, 'deploy', 'prometheus');
const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';

interface Rule {
  alert?: string;
  expr: string;
  for?: string;
}

/**
 * The shipped rules with time scaled down for a test: every range window to 20 s, every `for` to 3 s, and the
 * outbox age threshold from 300 s to 3 s. Nothing else changes: the same metric names, labels and aggregations.
 */
function testRules(): string {
  const doc = parse(readFileSync(join(PROMETHEUS_DIR, 'opsdesk-alerts.yml'), 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
  for (const g of doc.groups) {
    for (const r of g.rules) {
      r.expr = r.expr.replace(/\[\d+[mhd]\]/g, '[20s]');
      if (r.alert === 'OpsDeskOutboxBacklogAgeHigh') r.expr = r.expr.replace('> 300', '> 3');
      if (r.for) r.for = '3s';
    }
  }
  return stringify(doc);
}

/** The Kubernetes scrape job of deploy/prometheus/opsdesk-kubernetes.yml with file discovery in place of pod discovery. */
function kubernetesJobWithFileSd(targetsFile: string): Record<string, unknown> {
  const k8s = parse(readFileSync(join(PROMETHEUS_DIR, 'opsdesk-kubernetes.yml'), 'utf8')) as { scrape_configs: Array<Record<string, unknown>> };
  const job = k8s.scrape_configs.find((j) => j.job_name === 'opsdesk-pods');
  if (!job) throw new Error('opsdesk-pods job missing');
  const { kubernetes_sd_configs: _sd, ...rest } = job;
  return { ...rest, file_sd_configs: [{ files: [targetsFile], refresh_interval: '5s' }] };
}

/** What Kubernetes pod discovery would say about a pod of the chart (deployments.yaml labels and annotations). */
function podTarget(component: string, hostPort: string): Record<string, unknown> {
  const port = hostPort.split(':')[1];
  return {
    targets: [hostPort],
    labels: {
      __meta_kubernetes_namespace: 'opsdesk',
      __meta_kubernetes_pod_name: `opsdesk-${component}-7d9f8-abcde`,
      __meta_kubernetes_pod_label_app_kubernetes_io_name: 'opsdesk',
      __meta_kubernetes_pod_label_app_kubernetes_io_component: component,
      __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
      __meta_kubernetes_pod_annotation_prometheus_io_port: port,
      __meta_kubernetes_pod_annotation_prometheus_io_path: '/metrics',
    },
  };
}

interface PromAlert {
  labels: Record<string, string>;
  state: 'pending' | 'firing';
  activeAt: string;
}

let pg: OwnPostgres;
let nats: OwnNatsServer;
let stack: Stack;
let prom: ChildProcess | null = null;
let promUrl = '';
let dir = '';

async function alerts(): Promise<PromAlert[]> {
  const res = await fetch(`${promUrl}/api/v1/alerts`);
  return ((await res.json()) as { data: { alerts: PromAlert[] } }).data.alerts;
}

async function firing(name: string, labels: Record<string, string> = {}, timeoutMs = 60_000): Promise<PromAlert> {
  return waitFor(
    async () => (await alerts()).find((a) => a.labels.alertname === name && a.state === 'firing' && Object.entries(labels).every(([k, v]) => a.labels[k] === v)),
    { timeoutMs, intervalMs: 500, what: `${name} firing` },
  );
}

async function resolved(name: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => !(await alerts()).some((a) => a.labels.alertname === name), { timeoutMs, intervalMs: 500, what: `${name} resolved` });
}

async function query(q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(q)}`);
  return ((await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } }).data.result;
}

beforeAll(async () => {
  pg = await startOwnPostgres();
  nats = await startOwnNatsServer();
  stack = await startStack('obslive', {
    services: ['auth', 'inventory', 'audit'],
    natsUrl: nats.url,
    pgAdminUrl: `postgres://postgres@127.0.0.1:${pg.port}/postgres`,
  });

  dir = mkdtempSync(join(tmpdir(), 'opsdesk-obslive-'));
  const targetsFile = join(dir, 'pods.json');
  const hostPort = (u: string) => new URL(u).host;
  writeFileSync(
    targetsFile,
    JSON.stringify([
      podTarget('gateway', hostPort(stack.internalUrl)),
      ...['auth', 'inventory', 'audit'].map((n) => podTarget(n, hostPort(urlOf(stack.apps[n])))),
    ]),
  );
  writeFileSync(join(dir, 'rules.yml'), testRules());
  writeFileSync(
    join(dir, 'prometheus.yml'),
    stringify({ global: { scrape_interval: '1s', evaluation_interval: '1s' }, rule_files: ['rules.yml'], scrape_configs: [kubernetesJobWithFileSd(targetsFile)] }),
  );
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prom = spawn(PROMETHEUS_BIN, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: 'ignore' });
  await waitFor(async () => (await fetch(`${promUrl}/-/ready`).catch(() => null))?.ok === true, { timeoutMs: 30_000, what: 'prometheus ready' });
  await waitFor(async () => (await query('up == 1')).length === 4, { timeoutMs: 30_000, what: 'all four targets up' });
}, 180_000);

afterAll(async () => {
  if (prom && prom.exitCode === null) {
    const p = prom;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGTERM');
    });
  }
  await stack?.stop();
  await nats?.stop();
  await nats?.cleanup();
  pg?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('relabels pods into the jobs and service labels the rules match (opsdesk-api for the gateway, opsdesk-services otherwise)', async () => {
  const up = (await query('up')).map((r) => `${r.metric.job}/${r.metric.service}`).sort();
  expect(up).toEqual(['opsdesk-api/gateway', 'opsdesk-services/audit', 'opsdesk-services/auth', 'opsdesk-services/inventory']);
  // quiet while everything is healthy
  expect((await alerts()).map((a) => a.labels.alertname).filter((n) => /Database|NotReady|Nats|Outbox|DeadLetters/.test(n))).toEqual([]);
});

it('Postgres down: DB connection errors and not-ready alerts fire; both resolve once it is back', async () => {
  pg.stop('fast');
  try {
    const errors = await firing('OpsDeskDatabaseConnectionErrors');
    expect(errors.labels.severity).toBe('critical');
    const notReady = await firing('OpsDeskServiceNotReady', { check: 'database' });
    expect(notReady.labels.job ?? notReady.labels.service).toBeDefined();
    // the counter says why: connections refused / terminated, counted where the calls failed
    const kinds = (await query('sum by (kind) (increase(opsdesk_db_connection_errors_total[1m])) > 0')).map((r) => r.metric.kind);
    expect(kinds).toEqual(expect.arrayContaining(['refused']));
  } finally {
    pg.start();
  }
  await resolved('OpsDeskServiceNotReady', 60_000);
  await resolved('OpsDeskDatabaseConnectionErrors', 90_000);
}, 240_000);

it('NATS down: disconnected and outbox backlog alerts fire; both resolve once it is back and the backlog drains', async () => {
  await nats.stop();
  try {
    const disconnected = await firing('OpsDeskNatsDisconnected');
    expect(disconnected.labels.severity).toBe('critical');
    // an event committed while NATS is away waits in the outbox (written by the real producer code)
    const db = new Client({ connectionString: stack.db.url });
    await db.connect();
    try {
      await new OutboxWriter({ schema: 'inventory', source: 'inventory', subjectPrefix: stack.env.EVENTS_SUBJECT_PREFIX as string }).add(db, {
        type: 'inventory.observability.probe',
        actor: null,
        request_id: null,
        subject: { entity_type: 'host', entity_id: null },
        data: { note: 'committed while NATS was down' },
      });
    } finally {
      await db.end();
    }
    const backlog = await firing('OpsDeskOutboxBacklogAgeHigh');
    expect(backlog.labels.severity).toBe('warning');
  } finally {
    await nats.start();
  }
  await resolved('OpsDeskNatsDisconnected', 60_000);
  await resolved('OpsDeskOutboxBacklogAgeHigh', 60_000);
}, 240_000);

it('a poison message: OpsDeskDeadLetters fires and stays firing until the letter is dismissed', async () => {
  const nc = await connect({ servers: nats.url, ...testNatsAdmin() });
  try {
    await nc.jetstream().publish(`${stack.env.EVENTS_SUBJECT_PREFIX}.inventory.host.created`, Buffer.from('{ this is not an event'));
  } finally {
    await nc.close();
  }
  // the letter is written after the consumer's redeliveries run out, then scraped and held for the rule's `for`: a
  // loaded machine (CI with parallel suites) needed more than a minute for all of it
  const alert = await firing('OpsDeskDeadLetters', { consumer: 'audit-recorder' }, 150_000);
  expect(alert.labels.severity).toBe('critical');
  // still firing well past its `for` and its (test) 20 s window, where the old increase()-based rule resolved
  await waitFor(
    async () => {
      const a = (await alerts()).find((x) => x.labels.alertname === 'OpsDeskDeadLetters' && x.state === 'firing');
      if (!a) {
        // what the audit target's scrapes looked like meanwhile (a failed scrape used to resolve this alert)
        const scrapes = await query('{__name__=~"up|scrape_duration_seconds", service="audit"}[1m]').catch(() => []);
        throw new Error(`OpsDeskDeadLetters resolved while the letter is unresolved; audit scrapes: ${JSON.stringify(scrapes)}`);
      }
      return Date.now() - Date.parse(a.activeAt) > 30_000;
    },
    { timeoutMs: 60_000, intervalMs: 1000, what: 'OpsDeskDeadLetters active for 30 s' },
  );

  const db = new Client({ connectionString: stack.db.url });
  await db.connect();
  try {
    const [{ id }] = (await db.query(`SELECT id::text AS id FROM audit.dead_letters WHERE consumer = 'audit-recorder'`)).rows as Array<{ id: string }>;
    await dismissDeadLetter(db, 'audit', id, 'poison message injected by the observability test');
  } finally {
    await db.end();
  }
  await resolved('OpsDeskDeadLetters', 60_000);
}, 300_000);

it('every dashboard query is valid PromQL for this Prometheus, and those on the services\' own metrics return data', async () => {
  const dashDir = join(ROOT, 'deploy', 'grafana', 'dashboards');
  const exprs = readdirSync(dashDir).flatMap((f) =>
    (JSON.parse(readFileSync(join(dashDir, f), 'utf8')) as { panels: Array<{ title: string; targets?: Array<{ expr?: string }> }> }).panels.flatMap((p) =>
      (p.targets ?? []).filter((t) => t.expr).map((t) => ({ f, title: p.title, expr: t.expr as string })),
    ),
  );
  expect(exprs.length).toBeGreaterThan(60);
  // Grafana's variables as Grafana would fill them in
  const fill = (e: string) => e.replace(/\$__rate_interval|\$__interval/g, '1m').replace(/\$\{?(service|route|instance)\}?/g, '.*');
  const invalid: string[] = [];
  for (const x of exprs) {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(fill(x.expr))}`);
    const body = (await res.json()) as { status: string; error?: string };
    if (body.status !== 'success') invalid.push(`${x.f} "${x.title}": ${body.error}`);
  }
  expect(invalid).toEqual([]);
  // the pool, NATS, JetStream, readiness and dead-letter series the new dashboards read are live here
  for (const q of [
    'opsdesk_db_pool_max',
    'opsdesk_db_pool_connections{state="in_use"}',
    'opsdesk_nats_connected',
    'opsdesk_jetstream_consumer_num_pending',
    'opsdesk_jetstream_stream_messages',
    'opsdesk_readiness_check_ok',
    'opsdesk_dead_letters_unresolved',
  ]) {
    expect({ q, samples: (await query(q)).length > 0 }).toEqual({ q, samples: true });
  }
});
