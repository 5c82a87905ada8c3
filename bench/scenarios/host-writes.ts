/**
 * host-writes: host creates through the gateway at concurrency 8 (POST /api/hosts: gateway → NATS → inventory
 * transaction with revision and outbox → relay → JetStream → audit), p50/p99 and creates/s, against the
 * database's own ceiling measured in the same round (a bare single-row INSERT into inventory.hosts at the same
 * concurrency over the same Postgres), and whether audit keeps up: how long after the round the last
 * host.created record appears in the audit chain.
 */
import { Pool } from 'pg';
import { closedLoop, compact, sleep } from '../lib/load';
import { figure } from '../lib/stats';
import { hostBody, startSystem } from '../lib/system';
import type { Row, Scenario } from '../lib/scenario';

export const hostWrites: Scenario = {
  name: 'host-writes',
  summary: 'POST /api/hosts through the gateway at c=8 vs bare INSERT; audit catch-up',
  async run(ctx) {
    const seconds = Number(process.env.BENCH_WRITE_SECONDS ?? (ctx.quick ? 3 : 10));
    const c = 8;
    const sys = await startSystem({ cpuProfDir: ctx.cpuProfDir, label: 'benchwrite' });
    const pool = new Pool({ connectionString: sys.db.url, max: c });
    try {
      let n = 0;
      const create = async () => (await sys.api.req('POST', '/api/hosts', hostBody(sys.id, n++))).status === 201;
      const insert = async () => {
        const i = n++;
        await pool.query(`INSERT INTO inventory.hosts (hostname, ip, environment, os, criticality, team, tags) VALUES ($1, $2, $3, 'linux', $4, $5, $6)`, [
          `raw-${sys.id}-${i}`,
          `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          ['prod', 'stage', 'dev'][i % 3],
          ['critical', 'high', 'medium', 'low'][i % 4],
          `team-${i % 8}`,
          [`role-${i % 8}`],
        ]);
        return true;
      };
      await closedLoop(create, c, ctx.quick ? 1 : 3);
      await closedLoop(insert, c, 1);
      const audited = async () =>
        Number((await pool.query(`SELECT count(*)::int AS n FROM audit.records WHERE type = 'inventory.host.created'`)).rows[0].n);
      const created = async () => Number((await pool.query(`SELECT count(*)::int AS n FROM inventory.hosts WHERE hostname LIKE 'b-%'`)).rows[0].n);
      const rounds: Array<Record<string, unknown>> = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const cpu0 = { gw: sys.procs.gateway?.cpuMs() ?? 0, inv: sys.procs.inventory?.cpuMs() ?? 0, audit: sys.procs.audit?.cpuMs() ?? 0 };
        const sysRes = await closedLoop(create, c, seconds);
        const cpu = {
          gateway: ((sys.procs.gateway?.cpuMs() ?? 0) - cpu0.gw) / sysRes.ok,
          inventory: ((sys.procs.inventory?.cpuMs() ?? 0) - cpu0.inv) / sysRes.ok,
          audit: ((sys.procs.audit?.cpuMs() ?? 0) - cpu0.audit) / sysRes.ok,
        };
        // audit keeping up: time from the end of the round until every created host is in the chain
        const ended = Date.now();
        const want = await created();
        let lag = 0;
        let behind = want - (await audited());
        const behindAtEnd = behind;
        while (behind > 0 && Date.now() - ended < 120_000) {
          await sleep(50);
          behind = want - (await audited());
        }
        lag = behind > 0 ? Number.NaN : (Date.now() - ended) / 1000;
        const baseRes = await closedLoop(insert, c, seconds);
        rounds.push({ system: compact(sysRes), baseline: compact(baseRes), cpu_ms_per_create: cpu, audit_behind_at_end: behindAtEnd, audit_catch_up_s: lag });
        ctx.log(
          `round ${r + 1}: gateway ${Math.round(sysRes.per_s)}/s p50 ${sysRes.lat_ms.p50.toFixed(1)} p99 ${sysRes.lat_ms.p99.toFixed(1)} ms | bare INSERT ${Math.round(baseRes.per_s)}/s p50 ${baseRes.lat_ms.p50.toFixed(1)} | audit behind ${behindAtEnd}, caught up in ${lag.toFixed(2)} s | cpu/create gw ${cpu.gateway.toFixed(1)} inv ${cpu.inventory.toFixed(1)} audit ${cpu.audit.toFixed(1)} ms`,
        );
      }
      type R = { system: ReturnType<typeof compact>; baseline: ReturnType<typeof compact>; cpu_ms_per_create: Record<string, number>; audit_catch_up_s: number; audit_behind_at_end: number };
      const rs = rounds as unknown as R[];
      const rows: Row[] = [
        { figure: 'host creates/s through the gateway, c=8', unit: '/s', system: figure(rs.map((r) => r.system.per_s)), baseline: figure(rs.map((r) => r.baseline.per_s)), baseline_label: 'bare INSERT, c=8', ratio: figure(rs.map((r) => (r.system.per_s / r.baseline.per_s) * 100)), ratio_label: '% of bare INSERT', goal: '≥ 250/s' },
        { figure: 'host create p50, c=8', unit: 'ms', system: figure(rs.map((r) => r.system.lat_ms.p50)), baseline: figure(rs.map((r) => r.baseline.lat_ms.p50)), baseline_label: 'bare INSERT' },
        { figure: 'host create p99, c=8', unit: 'ms', system: figure(rs.map((r) => r.system.lat_ms.p99)), baseline: figure(rs.map((r) => r.baseline.lat_ms.p99)), baseline_label: 'bare INSERT', goal: '≤ 100 ms' },
        { figure: 'audit: records behind at the end of a round / seconds to catch up', unit: 's', system: figure(rs.map((r) => r.audit_catch_up_s)), baseline: figure(rs.map((r) => r.audit_behind_at_end)), baseline_label: 'records behind at end', goal: 'keeps up' },
        { figure: 'CPU per create: gateway / inventory / audit', unit: 'ms', system: figure(rs.map((r) => r.cpu_ms_per_create.gateway)), baseline: figure(rs.map((r) => r.cpu_ms_per_create.inventory)), baseline_label: 'inventory', ratio: figure(rs.map((r) => r.cpu_ms_per_create.audit)), ratio_label: 'ms audit' },
      ];
      return { rows, detail: { seconds, concurrency: c, rounds } };
    } finally {
      await pool.end().catch(() => undefined);
      await sys.stop();
    }
  },
};
