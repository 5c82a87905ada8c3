/**
 * footprint: per service, start-to-ready (spawn → /readyz 200), RSS right after ready, idle RSS, RSS under a
 * write load (after N and after 2N host creates through the gateway, c=8), heap after a full GC before and after
 * the load, and RSS at rest again after the load. Baseline: a bare Node process serving HTTP with Fastify
 * (bench/lib/bare-fastify.ts), started and read the same way. Each round boots the whole system anew.
 *
 * "Idle" is read after a settle time long enough for V8's memory reducer to run (it starts ~8 s after the
 * allocation rate drops and gives back the young generation the boot grew to 2 × 16 MiB): read 5 s after ready,
 * every service still held ~32 MB of young generation it was no longer using (docs/PERFORMANCE.md, change 15).
 * RSS readings take no forced GC (what production sees); the heap-after-GC readings come last in each phase.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countLoop, sleep } from '../lib/load';
import { figure } from '../lib/stats';
import { freePortOf } from '../lib/util';
import { hostBody, startSystem, type ServiceName } from '../lib/system';
import { spawnReady, stopChild, type Row, type Scenario } from '../lib/scenario';

// every service; the write load (host creates) reaches the artifacts service only as events it does not consume
const SERVICES: ServiceName[] = ['auth', 'inventory', 'audit', 'artifacts', 'gateway'];
const rssMb = (pid: number) => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

export const footprint: Scenario = {
  name: 'footprint',
  summary: 'idle RSS, RSS after N writes and start-to-ready per service vs a bare Fastify process',
  async run(ctx) {
    const writes = Number(process.env.BENCH_FOOTPRINT_WRITES ?? (ctx.quick ? 300 : 2000));
    const settle = Number(process.env.BENCH_FOOTPRINT_SETTLE_MS ?? (ctx.quick ? 15_000 : 25_000));
    const rounds: Array<Record<string, unknown>> = [];
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-fp-'));
    writeFileSync(join(dir, 'body.json'), '{}');
    const mb = (v: number) => v / 1048576;
    try {
      for (let r = 0; r < ctx.rounds; r++) {
        const t = process.hrtime.bigint();
        const bare = await spawnReady(join(__dirname, '..', 'lib', 'bare-fastify.js'), [String(await freePortOf()), join(dir, 'body.json')]);
        const bareReady = Number(process.hrtime.bigint() - t) / 1e6;
        const sys = await startSystem({ cpuProfDir: ctx.cpuProfDir, label: 'benchfp', services: SERVICES });
        try {
          const read = async (gc = false) => {
            const out: Record<string, number> = {};
            for (const s of SERVICES) {
              const m = await sys.procs[s]!.memory(gc);
              out[s] = mb(gc ? m.heapUsedAfterGc : m.rss);
            }
            return out;
          };
          const ready = await read();
          await sleep(settle);
          const idle = await read();
          const bareIdle = rssMb(bare.pid as number);
          const heapIdle = await read(true);
          let done = 0;
          const load = async () => {
            done += await countLoop(async (i) => (await sys.api.req('POST', '/api/hosts', hostBody(sys.id, done + i))).status === 201, 8, writes);
            return read();
          };
          const afterN = await load();
          const after2N = await load();
          const heapLoaded = await read(true);
          await sleep(settle);
          const rest = await read();
          rounds.push({ ready_ms: sys.readyMs, rss_at_ready_mb: ready, idle_rss_mb: idle, bare_ready_ms: bareReady, bare_idle_rss_mb: bareIdle, heap_idle_mb: heapIdle, rss_after_writes_mb: afterN, rss_after_2x_writes_mb: after2N, heap_after_writes_mb: heapLoaded, rss_at_rest_mb: rest, writes: done });
          const line = (o: Record<string, number>) => SERVICES.map((s) => `${s} ${o[s].toFixed(0)}`).join(', ');
          ctx.log(`round ${r + 1}: RSS at ready ${line(ready)} | idle ${line(idle)} MB (bare ${bareIdle.toFixed(0)}) | after ${writes} writes ${line(afterN)} | after ${done} ${line(after2N)} | at rest ${line(rest)} | heap after GC idle ${line(heapIdle)} → loaded ${line(heapLoaded)} | ready ${SERVICES.map((s) => `${s} ${sys.readyMs[s]}`).join(', ')} ms (bare ${bareReady.toFixed(0)})`);
        } finally {
          await stopChild(bare);
          await sys.stop();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    type PerService = Record<string, number>;
    type R = { ready_ms: PerService; rss_at_ready_mb: PerService; idle_rss_mb: PerService; bare_ready_ms: number; bare_idle_rss_mb: number; heap_idle_mb: PerService; rss_after_writes_mb: PerService; rss_after_2x_writes_mb: PerService; heap_after_writes_mb: PerService; rss_at_rest_mb: PerService };
    const rs = rounds as unknown as R[];
    const rows: Row[] = [];
    for (const s of SERVICES) {
      rows.push({ figure: `${s}: idle RSS (${settle / 1000} s after ready)`, unit: 'MB', system: figure(rs.map((r) => r.idle_rss_mb[s])), baseline: figure(rs.map((r) => r.bare_idle_rss_mb)), baseline_label: 'bare Fastify process', goal: '≤ 100 MB' });
      rows.push({ figure: `${s}: RSS right after ready`, unit: 'MB', system: figure(rs.map((r) => r.rss_at_ready_mb[s])) });
      rows.push({ figure: `${s}: RSS after ${writes} / ${2 * writes} creates`, unit: 'MB', system: figure(rs.map((r) => r.rss_after_2x_writes_mb[s])), baseline: figure(rs.map((r) => r.rss_after_writes_mb[s])), baseline_label: `after ${writes}`, ratio: figure(rs.map((r) => r.rss_after_2x_writes_mb[s] - r.rss_after_writes_mb[s])), ratio_label: 'MB grown over the second half', goal: 'flat' });
      rows.push({ figure: `${s}: heap after a full GC, idle → after ${2 * writes} creates`, unit: 'MB', system: figure(rs.map((r) => r.heap_after_writes_mb[s])), baseline: figure(rs.map((r) => r.heap_idle_mb[s])), baseline_label: 'idle', goal: 'flat' });
      rows.push({ figure: `${s}: RSS at rest after the load (${settle / 1000} s)`, unit: 'MB', system: figure(rs.map((r) => r.rss_at_rest_mb[s])), baseline: figure(rs.map((r) => r.idle_rss_mb[s])), baseline_label: 'idle before the load' });
      rows.push({ figure: `${s}: start to ready`, unit: 'ms', system: figure(rs.map((r) => r.ready_ms[s])), baseline: figure(rs.map((r) => r.bare_ready_ms)), baseline_label: 'bare Fastify process' });
    }
    return { rows, detail: { writes, rounds } };
  },
};
