import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@opsdesk/testing';

export interface PrometheusRig {
  url: string;
  /** host:port of the node exporter, the `instance` label of its series */
  exporterTarget: string;
  exporterPort: number;
  stopPrometheus(): Promise<void>;
  stop(): Promise<void>;
}

const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN ?? '/usr/bin/prometheus';
const NODE_EXPORTER_BIN = process.env.NODE_EXPORTER_BIN ?? '/usr/bin/prometheus-node-exporter';

function stopProcess(p: ChildProcess | null): Promise<void> {
  if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.once('exit', () => resolve());
    p.kill('SIGTERM');
  });
}

/** A real Prometheus (own config and storage) scraping a real node exporter every second, both on 127.0.0.1. */
export async function startPrometheusRig(): Promise<PrometheusRig> {
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-prom-'));
  const exporterPort = await freePort();
  const promPort = await freePort();
  const exporterTarget = `127.0.0.1:${exporterPort}`;
  const exporter = spawn(NODE_EXPORTER_BIN, [`--web.listen-address=${exporterTarget}`], { stdio: 'ignore' });
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: node\n    static_configs:\n      - targets: ['${exporterTarget}']\n`,
  );
  const prom = spawn(
    PROMETHEUS_BIN,
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${promPort}`;
  let promStopped = false;
  const stopPrometheus = async () => {
    promStopped = true;
    await stopProcess(prom);
  };
  try {
    await waitFor(async () => (await fetch(`http://${exporterTarget}/metrics`)).ok, { timeoutMs: 20_000, what: 'node exporter' });
    await waitFor(async () => (await fetch(`${url}/-/ready`)).ok, { timeoutMs: 30_000, what: 'prometheus ready' });
  } catch (err) {
    await stopProcess(prom);
    await stopProcess(exporter);
    throw err;
  }
  return {
    url,
    exporterTarget,
    exporterPort,
    stopPrometheus,
    async stop() {
      if (!promStopped) await stopProcess(prom);
      await stopProcess(exporter);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls Prometheus until the query returns at least one sample. */
export async function waitForSeries(url: string, query: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
      const body = (await res.json()) as { data?: { result?: unknown[] } };
      return (body.data?.result?.length ?? 0) > 0;
    },
    { timeoutMs, intervalMs: 250, what: `prometheus series ${query}` },
  );
}

/** The value of a query that yields one sample (instant query, now). */
export async function queryValue(url: string, query: string): Promise<number> {
  const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await res.json()) as { data?: { result?: Array<{ value: [number, string] }> } };
  const result = body.data?.result ?? [];
  if (result.length !== 1) throw new Error(`${query}: expected one sample, got ${result.length}`);
  return Number(result[0].value[1]);
}
