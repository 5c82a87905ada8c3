/**
 * Memory benchmark (`npm run bench:memory`): does any service grow without bound under a steady write load?
 *
 * Boots gateway, auth, inventory and audit as separate processes from dist/ (as `npm start` does, tracing
 * included) against the local Postgres (own database) and NATS (own stream, subject prefixes and KV bucket),
 * 127.0.0.1 only. BENCH_CLIENTS clients (default 8) then create BENCH_WRITES hosts (default 20 000) through
 * the gateway at BENCH_RATE creates/s in total (default 80; 0 = as fast as they go), with one list read
 * every BENCH_READ_EVERY writes (default 10). Bounded by count and by BENCH_MAX_SECONDS (default 900).
 *
 * Every BENCH_SAMPLE_SECONDS (default 15) each service reports, over an IPC channel (bench/memory/probe.ts,
 * preloaded with --expose-gc): RSS and V8 heapUsed, then heapUsed after a forced full GC. Live objects that
 * grow with the number of writes show up as a rising post-GC heap; garbage that V8 simply has not collected
 * yet does not. BENCH_GC=end forces a GC only at the first and last sample, so RSS and heap in between are
 * what they are in production (no collection forced by the measurement). With BENCH_SNAPSHOTS=1 a heap
 * snapshot of inventory is written (OS temp dir) after the warm-up and at the end, and the object counts
 * by constructor that grew most between the two are printed (a snapshot itself raises the process's RSS
 * by ~200 MB that stays: read RSS from runs without snapshots).
 * Figures go to stdout and bench/results/memory-<time>.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOpsDeskClient } from '@opsdesk/client';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ROOT, startSystem, type MemoryReading, type ServiceProcess } from '../lib/system';
import { compareSnapshots, countByConstructor } from './heap-snapshot';

const WRITES = Number(process.env.BENCH_WRITES ?? 20_000);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 80);
const READ_EVERY = Number(process.env.BENCH_READ_EVERY ?? 10);
const MAX_SECONDS = Number(process.env.BENCH_MAX_SECONDS ?? 900);
const SAMPLE_SECONDS = Number(process.env.BENCH_SAMPLE_SECONDS ?? 15);
const SNAPSHOTS = process.env.BENCH_SNAPSHOTS === '1';
// 'interval': a full GC before every sample's post-GC reading (tells live growth from garbage);
// 'end': only at the first and last sample, so RSS and heap in between behave as in production
const GC_MODE = process.env.BENCH_GC === 'end' ? 'end' : 'interval';
const WARMUP = Math.min(2000, Math.floor(WRITES / 10));
const SERVICES = ['auth', 'inventory', 'audit', 'gateway'] as const;
type Service = (typeof SERVICES)[number];

type MemorySample = MemoryReading;
interface Row {
  t_s: number;
  writes: number;
  reads: number;
  errors: number;
  mem: Record<Service, MemorySample>;
}

const mb = (b: number) => Math.round(b / 1048576);

function table(rows: Row[]): string {
  const head = ['t(s)', 'writes', ...SERVICES.map((s) => `${s} rss/heap/heap-after-gc MB`)];
  const lines = [head.join(' | ')];
  for (const r of rows) {
    lines.push([r.t_s, r.writes, ...SERVICES.map((s) => `${mb(r.mem[s].rss)}/${mb(r.mem[s].heapUsed)}/${mb(r.mem[s].heapUsedAfterGc)}`)].join(' | '));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  // the system as the rest of the suite starts it (bench/lib/system.ts): every service from dist/ with the probe
  const sys = await startSystem({ services: [...SERVICES], label: 'benchmem' });
  const id = sys.id;
  const procs = sys.procs;
  const snapDir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-mem-snap-'));
  const results: Record<string, unknown> = { scale: { writes: WRITES, clients: CLIENTS, rate_per_s: RATE, read_every: READ_EVERY, gc: GC_MODE } };
  try {
    const gw = sys.url;
    const login = async () => {
      const r = await createOpsDeskClient({ baseUrl: gw }).POST('/api/auth/login', { body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } });
      if (!r.data) throw new Error(`login: ${r.response.status} ${JSON.stringify(r.error)}`);
      return r.data.access_token;
    };
    let token = await login();
    // the token is read before every request, so a re-login after a 401 takes effect at once
    const api = createOpsDeskClient({ baseUrl: gw, token: () => token });

    const rows: Row[] = [];
    const started = Date.now();
    let writes = 0;
    let reads = 0;
    let errors = 0;
    let issued = 0;
    const sample = async (gc = GC_MODE === 'interval') => {
      const mem = {} as Record<Service, MemorySample>;
      for (const s of SERVICES) mem[s] = await (procs[s] as ServiceProcess).memory(gc);
      const row: Row = { t_s: Math.round((Date.now() - started) / 1000), writes, reads, errors, mem };
      rows.push(row);
      process.stdout.write(`t=${row.t_s}s writes=${writes} reads=${reads} errors=${errors}  ${SERVICES.map((s) => `${s} ${mb(mem[s].rss)}/${mb(mem[s].heapUsed)}/${mb(mem[s].heapUsedAfterGc)}/${mb(mem[s].external)}`).join('  ')}  (MB rss/heap/heap-after-gc/external)\n`);
    };
    await sample(true);

    const deadline = started + MAX_SECONDS * 1000;
    const client = async (n: number) => {
      while (issued < WRITES && Date.now() < deadline) {
        const i = issued++;
        // paced: write i is due at i / RATE seconds after the start
        if (RATE > 0) {
          const due = started + (i * 1000) / RATE;
          if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        const body = {
          hostname: `mem-${id}-${i}`,
          ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          environment: (['prod', 'stage', 'dev'] as const)[i % 3],
          os: 'linux' as const,
          criticality: (['critical', 'high', 'medium', 'low'] as const)[i % 4],
          team: `team-${n}`,
          tags: [`role-${i % 8}`],
        };
        const r = await api.POST('/api/hosts', { body }).catch(() => null);
        if (r?.response.status === 401) token = await login();
        if (r?.response.status === 201) writes++;
        else {
          errors++;
          if (errors <= 5) process.stderr.write(`create: ${r?.response.status} ${JSON.stringify(r?.error)}\n`);
        }
        if (READ_EVERY > 0 && i % READ_EVERY === 0) {
          const l = await api.GET('/api/hosts', { params: { query: { limit: 20, team: `team-${n}` } }, parseAs: 'arrayBuffer' }).catch(() => null);
          if (l?.response.status === 200) reads++;
        }
      }
    };
    let snapA: string | null = null;
    const sampler = (async () => {
      let next = Date.now() + SAMPLE_SECONDS * 1000;
      while (issued < WRITES && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 250));
        if (SNAPSHOTS && !snapA && writes >= WARMUP) snapA = await (procs.inventory as ServiceProcess).snapshot(join(snapDir, 'inventory-a.heapsnapshot'));
        if (Date.now() >= next) {
          await sample();
          next = Date.now() + SAMPLE_SECONDS * 1000;
        }
      }
    })();
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    await sampler;
    const elapsed = (Date.now() - started) / 1000;
    await sample();
    // the events of the last writes reach audit within seconds; one more sample once that settled
    await new Promise((r) => setTimeout(r, 10_000));
    await sample(true);
    results.throughput = { writes, reads, errors, seconds: Math.round(elapsed), writes_per_s: Math.round(writes / elapsed) };
    results.samples = rows;
    const first = rows[0];
    const last = rows[rows.length - 1];
    const summary: Record<string, unknown> = {};
    for (const s of SERVICES) {
      summary[s] = {
        rss_mb: [mb(first.mem[s].rss), mb(last.mem[s].rss)],
        heap_used_mb: [mb(first.mem[s].heapUsed), mb(last.mem[s].heapUsed)],
        heap_after_gc_mb: [mb(first.mem[s].heapUsedAfterGc), mb(last.mem[s].heapUsedAfterGc)],
        // live bytes per write: post-GC heap growth between the first sample after warm-up and the last
        post_gc_bytes_per_write: (() => {
          const base = GC_MODE === 'interval' ? (rows.find((r) => r.writes >= WARMUP) ?? first) : first;
          return last.writes > base.writes ? Math.round((last.mem[s].heapUsedAfterGc - base.mem[s].heapUsedAfterGc) / (last.writes - base.writes)) : null;
        })(),
      };
    }
    results.summary = summary;
    process.stdout.write(`\n${table(rows)}\n\n`);
    process.stdout.write(`throughput: ${JSON.stringify(results.throughput)}\n`);
    for (const s of SERVICES) process.stdout.write(`${s.padEnd(10)} ${JSON.stringify(summary[s])}\n`);

    if (SNAPSHOTS && snapA) {
      const snapB = await (procs.inventory as ServiceProcess).snapshot(join(snapDir, 'inventory-b.heapsnapshot'));
      const [a, b] = [countByConstructor(snapA), countByConstructor(snapB)];
      const grown = compareSnapshots(a, b).slice(0, 20);
      results.inventory_snapshot_growth = grown;
      process.stdout.write('\ninventory heap snapshot, warm-up → end: constructors that grew most (count, retained self size)\n');
      for (const g of grown) process.stdout.write(`  ${g.name.padEnd(40)} ${String(g.countDelta).padStart(8)} objects  ${String(Math.round(g.sizeDelta / 1024)).padStart(8)} KB\n`);
    }
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    const out = join(ROOT, 'bench', 'results', `memory-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(out, JSON.stringify(results, null, 2));
    process.stdout.write(`\nresults: ${out}\n`);
  } finally {
    rmSync(snapDir, { recursive: true, force: true });
    await sys.stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
