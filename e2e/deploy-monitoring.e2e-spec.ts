import { lstatSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * The monitoring pieces no binary here can run (Grafana, the OpenTelemetry Collector, Jaeger, Helm), checked
 * statically: the Helm chart ships the same files as compose, the collector pipeline only names components it
 * defines, compose mounts files that exist, and every dashboard is provisionable. The dashboards' queries are
 * checked against real /metrics (e2e/deploy.e2e-spec.ts) and a real Prometheus (e2e/observability-live.e2e-spec.ts).
 */
const DEPLOY = join(__dirname, '..', 'deploy');
const CHART_FILES = join(DEPLOY, 'helm', 'opsdesk', 'files');
const read = (...p: string[]) => readFileSync(join(...p), 'utf8');

type Doc = Record<string, unknown>;

it('the Helm chart ships deploy/alertmanager, deploy/otel and the dashboards themselves (symlinks into deploy/, one copy to maintain)', () => {
  // helm package follows symlinks: the chart archive carries the files, the repository keeps one copy
  const links: Array<[string, string]> = [
    [join(CHART_FILES, 'alertmanager'), join(DEPLOY, 'alertmanager')],
    [join(CHART_FILES, 'otel'), join(DEPLOY, 'otel')],
    [join(CHART_FILES, 'grafana', 'dashboards'), join(DEPLOY, 'grafana', 'dashboards')],
  ];
  for (const [link, target] of links) {
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(realpathSync(link)).toBe(realpathSync(target));
  }
  // what the templates read through them is there
  for (const f of ['alertmanager.yml.tmpl', 'render-config.sh', join('templates', 'opsdesk.tmpl')]) expect(read(CHART_FILES, 'alertmanager', f).length).toBeGreaterThan(0);
  expect(read(CHART_FILES, 'otel', 'collector.yaml').length).toBeGreaterThan(0);
  expect(readdirSync(join(CHART_FILES, 'grafana', 'dashboards')).filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(5);
});

it('the collector pipeline receives OTLP/HTTP on 4318 and uses only components it defines', () => {
  const cfg = parse(read(DEPLOY, 'otel', 'collector.yaml')) as Doc;
  const pipelines = (cfg.service as Doc).pipelines as Record<string, Record<string, string[]>>;
  expect(Object.keys(pipelines)).toEqual(['traces']);
  const undefinedRefs: string[] = [];
  for (const [name, p] of Object.entries(pipelines)) {
    for (const kind of ['receivers', 'processors', 'exporters'] as const) {
      expect(p[kind]?.length).toBeGreaterThan(0);
      for (const c of p[kind]) if (!(c in ((cfg[kind] as Doc) ?? {}))) undefinedRefs.push(`${name}.${kind}: ${c}`);
    }
  }
  expect(undefinedRefs).toEqual([]);
  // memory_limiter must come first and batch last (the collector's documented order)
  expect(pipelines.traces.processors[0]).toBe('memory_limiter');
  expect(pipelines.traces.processors.at(-1)).toBe('batch');
  expect(((cfg.receivers as Doc).otlp as { protocols: { http: { endpoint: string } } }).protocols.http.endpoint).toBe('0.0.0.0:4318');
  expect(((cfg.exporters as Doc)['otlp/jaeger'] as { endpoint: string }).endpoint).toBe('jaeger:4317');
});

it('compose runs alertmanager, grafana, otel-collector and jaeger with files that exist, UIs on loopback only', () => {
  const compose = parse(read(DEPLOY, 'docker-compose.yml')) as { services: Record<string, { volumes?: string[]; ports?: string[] }> };
  for (const s of ['alertmanager', 'node-exporter', 'grafana', 'otel-collector', 'jaeger', 'prometheus']) expect(compose.services[s]).toBeDefined();
  for (const [name, svc] of Object.entries(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const host = v.split(':')[0];
      if (host.startsWith('./')) expect({ name, host, exists: (() => { try { readdirSync(join(DEPLOY, host)); return true; } catch { try { read(DEPLOY, host); return true; } catch { return false; } } })() }).toEqual({ name, host, exists: true });
    }
  }
  for (const s of ['alertmanager', 'grafana', 'jaeger']) for (const p of compose.services[s].ports ?? []) expect(p.startsWith('127.0.0.1:')).toBe(true);
  // Prometheus sends to the compose alertmanager
  const prom = parse(read(DEPLOY, 'prometheus', 'opsdesk.yml')) as { alerting: { alertmanagers: Array<{ static_configs: Array<{ targets: string[] }> }> } };
  expect(prom.alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
});

it('every dashboard is provisionable: unique uid, the datasource variable, panels with queries', () => {
  const dir = join(DEPLOY, 'grafana', 'dashboards');
  const dashboards = readdirSync(dir).map((f) => ({ f, d: JSON.parse(read(dir, f)) as { uid: string; title: string; panels: Array<{ targets?: Array<{ expr?: string }> }>; templating: { list: Array<{ name: string }> } } }));
  expect(dashboards.map((x) => x.d.uid).sort()).toEqual(['opsdesk-event-pipeline', 'opsdesk-nats', 'opsdesk-overview', 'opsdesk-postgres', 'opsdesk-slo']);
  for (const { f, d } of dashboards) {
    expect({ f, ds: d.templating.list.some((v) => v.name === 'datasource') }).toEqual({ f, ds: true });
    const empty = d.panels.filter((p) => p.targets && p.targets.every((t) => !t.expr?.trim()));
    expect({ f, empty: empty.length }).toEqual({ f, empty: 0 });
  }
});
