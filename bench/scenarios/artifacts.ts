/**
 * artifacts: a BENCH_ARTIFACT_MB upload (default 500; 20 with --quick) through the gateway → artifacts service
 * vs a bare one-hop Node sink that hashes (SHA-256) and fsyncs vs `cp` (and cp + fsync) of the same file on the
 * same disk, plus the download vs a bare one-hop Node source that hashes while it streams and vs `cp`, per round. Runs bench/artifacts/artifacts.bench.ts (its own stack, its own
 * database) with the suite's round count and reads its per-round seconds. The same upload and download through the
 * edge nginx's one-hop route (ticket from the gateway, bytes nginx → artifacts; plain HTTP like the baselines) are
 * rows of their own against the same one-hop baselines, when /usr/sbin/nginx is installed.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { figure } from '../lib/stats';
import { ROOT } from '../lib/system';
import type { Row, Scenario } from '../lib/scenario';

export const artifacts: Scenario = {
  name: 'artifacts',
  summary: 'upload/download through the gateway and through nginx one-hop vs a one-hop SHA-256+fsync sink vs cp',
  async run(ctx) {
    const mb = Number(process.env.BENCH_ARTIFACT_MB ?? (ctx.quick ? 20 : 500));
    const small = Math.max(1, Math.min(Number(process.env.BENCH_ARTIFACT_SMALL_MB ?? 50), Math.floor(mb / 5)));
    const env = { ...process.env, BENCH_ARTIFACT_MB: String(mb), BENCH_ARTIFACT_SMALL_MB: String(small), BENCH_ARTIFACT_RUNS: String(ctx.rounds), ...(ctx.cpuProfDir ? { BENCH_PROFILE_DIR: ctx.cpuProfDir } : {}) };
    await new Promise<void>((resolve, reject) => {
      const p = spawn(process.execPath, [join(__dirname, '..', 'artifacts', 'artifacts.bench.js')], { env, stdio: ['ignore', 'pipe', 'inherit'] });
      p.stdout?.on('data', (d: Buffer) => ctx.log(d.toString().trimEnd()));
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`artifacts bench exited ${code}`))));
    });
    const res = JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'artifacts.json'), 'utf8')) as Record<string, unknown>;
    const big = res[`size_${mb}`] as {
      // edge*: absent in results written before the nginx route was measured, empty when nginx is not installed
      seconds: { cp: number[]; cpSync: number[]; up: number[]; dl: number[]; bare: number[]; oneHop: number[]; oneHopDl: number[]; edgeUp?: number[]; edgeDl?: number[] };
      cpu_seconds: {
        upGateway: number[];
        upArtifacts: number[];
        dlGateway: number[];
        dlArtifacts: number[];
        upSink?: number[];
        dlSource?: number[];
        edgeUpGateway?: number[];
        edgeUpArtifacts?: number[];
        edgeUpNginx?: number[];
        edgeDlGateway?: number[];
        edgeDlArtifacts?: number[];
        edgeDlNginx?: number[];
      };
    } & Record<string, number>;
    const c = big.cpu_seconds;
    const perGb = (xs: number[]) => xs.map((x) => (x / mb) * 1024);
    const s = big.seconds;
    const rate = (xs: number[]) => xs.map((x) => mb / x);
    const edgeUp = s.edgeUp ?? [];
    const edgeDl = s.edgeDl ?? [];
    const edgeLabel = (res.edge as { tls?: boolean } | undefined)?.tls ? 'through nginx one-hop (HTTPS)' : 'through nginx one-hop';
    const edge = edgeUp.length > 0 && edgeDl.length > 0;
    const edgeRates: Row[] = edge
      ? [
          { figure: `${mb} MB upload ${edgeLabel} vs one-hop sink (SHA-256 + fsync)`, unit: 'MB/s', system: figure(rate(edgeUp)), baseline: figure(rate(s.oneHop)), baseline_label: 'one-hop Node sink', ratio: figure(edgeUp.map((u, i) => (s.oneHop[i] / u) * 100)), ratio_label: '% of one-hop', goal: '≥ 80% of one-hop' },
          { figure: `${mb} MB download ${edgeLabel} vs one-hop source (SHA-256 while streaming)`, unit: 'MB/s', system: figure(rate(edgeDl)), baseline: figure(rate(s.oneHopDl)), baseline_label: 'one-hop Node source', ratio: figure(edgeDl.map((u, i) => (s.oneHopDl[i] / u) * 100)), ratio_label: '% of one-hop' },
        ]
      : [];
    const edgeCpu: Row[] = edge
      ? [
          ...(c.edgeUpNginx && c.edgeUpArtifacts && c.edgeDlNginx && c.edgeDlArtifacts
            ? [
                { figure: `CPU per GB uploaded ${edgeLabel}: nginx workers / artifacts`, unit: 's', system: figure(perGb(c.edgeUpNginx)), baseline: figure(perGb(c.edgeUpArtifacts)), baseline_label: 'artifacts service' },
                { figure: `CPU per GB downloaded ${edgeLabel}: nginx workers / artifacts`, unit: 's', system: figure(perGb(c.edgeDlNginx)), baseline: figure(perGb(c.edgeDlArtifacts)), baseline_label: 'artifacts service' },
              ]
            : []),
          // the gateway only issues the ticket: its CPU per GB here should be ~0 (the upload in system, the download beside it)
          ...(c.edgeUpGateway && c.edgeDlGateway
            ? [{ figure: `gateway CPU per GB ${edgeLabel} (ticket only): upload / download`, unit: 's', system: figure(perGb(c.edgeUpGateway)), baseline: figure(perGb(c.edgeDlGateway)), baseline_label: 'download' }]
            : []),
        ]
      : [];
    const rows: Row[] = [
      { figure: `${mb} MB upload through the gateway vs one-hop sink (SHA-256 + fsync)`, unit: 'MB/s', system: figure(rate(s.up)), baseline: figure(rate(s.oneHop)), baseline_label: 'one-hop Node sink', ratio: figure(s.up.map((u, i) => (s.oneHop[i] / u) * 100)), ratio_label: '% of one-hop', goal: '≥ 80% of one-hop' },
      { figure: `${mb} MB upload vs cp + fsync`, unit: 'MB/s', system: figure(rate(s.up)), baseline: figure(rate(s.cpSync)), baseline_label: 'cp + fsync', ratio: figure(s.up.map((u, i) => (s.cpSync[i] / u) * 100)), ratio_label: '% of cp+fsync' },
      { figure: `${mb} MB download through the gateway vs one-hop source (SHA-256 while streaming)`, unit: 'MB/s', system: figure(rate(s.dl)), baseline: figure(rate(s.oneHopDl)), baseline_label: 'one-hop Node source', ratio: figure(s.dl.map((u, i) => (s.oneHopDl[i] / u) * 100)), ratio_label: '% of one-hop' },
      { figure: `${mb} MB download through the gateway vs cp`, unit: 'MB/s', system: figure(rate(s.dl)), baseline: figure(rate(s.cp)), baseline_label: 'cp', ratio: figure(s.dl.map((u, i) => (s.cp[i] / u) * 100)), ratio_label: '% of cp' },
      ...edgeRates,
      { figure: `CPU per GB uploaded: gateway / artifacts`, unit: 's', system: figure(perGb(c.upGateway)), baseline: figure(perGb(c.upArtifacts)), baseline_label: 'artifacts service' },
      { figure: `CPU per GB downloaded: gateway / artifacts`, unit: 's', system: figure(perGb(c.dlGateway)), baseline: figure(perGb(c.dlArtifacts)), baseline_label: 'artifacts service' },
      ...(c.upSink && c.dlSource
        ? [
            { figure: `CPU per GB uploaded: gateway + artifacts vs the one-hop sink`, unit: 's', system: figure(perGb(c.upGateway.map((g, i) => g + c.upArtifacts[i]))), baseline: figure(perGb(c.upSink)), baseline_label: 'one-hop sink (SHA-256 + write + fsync)' },
            { figure: `CPU per GB downloaded: gateway + artifacts vs the one-hop source`, unit: 's', system: figure(perGb(c.dlGateway.map((g, i) => g + c.dlArtifacts[i]))), baseline: figure(perGb(c.dlSource)), baseline_label: 'one-hop source (read + SHA-256)' },
          ]
        : []),
      ...edgeCpu,
      { figure: `peak RSS during the ${mb} MB upload: gateway / artifacts`, unit: 'MB', system: figure([big.upload_peak_rss_gateway_mb]), baseline: figure([big.upload_peak_rss_artifacts_mb]), baseline_label: 'artifacts service' },
    ];
    return { rows, detail: res };
  },
};
