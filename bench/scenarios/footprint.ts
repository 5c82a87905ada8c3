/**
 * footprint: per service, start-to-ready (spawn → /readyz 200), idle RSS (after ready and a settle time) and
 * RSS after N host creates through the gateway (c=8), read over the memory probe (no forced GC: what
 * production sees). Baseline: a bare Node process serving HTTP with Fastify (bench/lib/bare-fastify.ts),
 * started and read the same way. Each round boots the whole system anew.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { countLoop, sleep } from '../lib/load';
import { figure } from '../lib/stats';
import { freePortOf } from '../lib/util';
import { hostBody, startSystem, type ServiceName } from '../lib/system';
import { spawnReady, stopChild, type Row, type Scenario } from '../lib/scenario';

const SERVICES: ServiceName[] = ['auth', 'inventory', 'audit', 'gateway'];
const rssMb = (pid: number) => {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
};

export const footprint: Scenario = {
  name: 'footprint',
  summary: 'idle RSS, RSS after N writes and start-to-ready per service vs a bare Fastify process',
  async run(ctx) {
    const writes = Number(process.env.BENCH_FOOTPRINT_WRITES ?? (ctx.quick ? 300 : 2000));
    const settle = ctx.quick ? 2000 : 5000;
    const rounds: Array<Record<string, unknown>> = [];
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-fp-'));
    writeFileSync(join(dir, 'body.json'), '{}');
    try {
      for (let r = 0; r < ctx.rounds; r++) {
        const t = process.hrtime.bigint();
        const bare = await spawnReady(join(__dirname, '..', 'lib', 'bare-fastify.js'), [String(await freePortOf()), join(dir, 'body.json')]);
        const bareReady = Number(process.hrtime.bigint() - t) / 1e6;
        const sys = await startSystem({ cpuProfDir: ctx.cpuProfDir, label: 'benchfp' });
        try {
          await sleep(settle);
          const idle: Record<string, number> = {};
          for (const s of SERVICES) idle[s] = (await sys.procs[s]!.memory(false)).rss / 1048576;
          const bareIdle = rssMb(bare.pid as number);
          const n = await countLoop(async (i) => (await sys.api.req('POST', '/api/hosts', hostBody(sys.id, i))).status === 201, 8, writes);
          const loaded: Record<string, number> = {};
          for (const s of SERVICES) loaded[s] = (await sys.procs[s]!.memory(false)).rss / 1048576;
          rounds.push({ ready_ms: sys.readyMs, idle_rss_mb: idle, bare_ready_ms: bareReady, bare_idle_rss_mb: bareIdle, rss_after_writes_mb: loaded, writes: n });
          ctx.log(`round ${r + 1}: idle RSS ${SERVICES.map((s) => `${s} ${idle[s].toFixed(0)}`).join(', ')} MB (bare ${bareIdle.toFixed(0)}) | after ${n} writes ${SERVICES.map((s) => `${s} ${loaded[s].toFixed(0)}`).join(', ')} | ready ${SERVICES.map((s) => `${s} ${sys.readyMs[s]}`).join(', ')} ms (bare ${bareReady.toFixed(0)})`);
        } finally {
          await stopChild(bare);
          await sys.stop();
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    type R = { ready_ms: Record<string, number>; idle_rss_mb: Record<string, number>; bare_ready_ms: number; bare_idle_rss_mb: number; rss_after_writes_mb: Record<string, number> };
    const rs = rounds as unknown as R[];
    const rows: Row[] = [];
    for (const s of SERVICES) {
      rows.push({ figure: `${s}: idle RSS`, unit: 'MB', system: figure(rs.map((r) => r.idle_rss_mb[s])), baseline: figure(rs.map((r) => r.bare_idle_rss_mb)), baseline_label: 'bare Fastify process', goal: '≤ 100 MB' });
      rows.push({ figure: `${s}: RSS after ${writes} creates`, unit: 'MB', system: figure(rs.map((r) => r.rss_after_writes_mb[s])), baseline: figure(rs.map((r) => r.idle_rss_mb[s])), baseline_label: 'idle', goal: 'flat' });
      rows.push({ figure: `${s}: start to ready`, unit: 'ms', system: figure(rs.map((r) => r.ready_ms[s])), baseline: figure(rs.map((r) => r.bare_ready_ms)), baseline_label: 'bare Fastify process' });
    }
    return { rows, detail: { writes, rounds } };
  },
};
