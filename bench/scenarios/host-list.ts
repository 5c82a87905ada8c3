/**
 * host-list: list/search through the gateway at BENCH_LIST_HOSTS hosts (default 1 000 000; generated in SQL),
 * the slow filters of issue 12 (two tags, IP prefix, environment + criticality with a sort, two-word `q` over
 * notes) and a few common ones. Per round and case: p50/p95 of BENCH_LIST_SAMPLES sequential requests, the
 * database's own execution time of the same statement (EXPLAIN (ANALYZE, BUFFERS), plan kept in the JSON),
 * and, as the baseline of the round, GET /api/hosts/:id (the request path's floor on the same stack).
 */
import { Client } from 'pg';
import { hostListSql, type HostSort } from '../../services/inventory/src/hosts/hosts.repository';
import type { HostFilters } from '@opsdesk/contracts';
import { figure, latencySummary } from '../lib/stats';
import { startSystem } from '../lib/system';
import type { Row, Scenario } from '../lib/scenario';

interface Case {
  name: string;
  query: Record<string, string | string[]>;
  filters: HostFilters;
  order: HostSort;
}

const CASES: Case[] = [
  { name: 'first page (sort hostname)', query: {}, filters: {}, order: 'hostname' },
  { name: 'tag=db&tag=site-3 (two tags)', query: { tag: ['db', 'site-3'] }, filters: { tag: ['db', 'site-3'] }, order: 'hostname' },
  { name: 'q=10.0.42. (IP prefix)', query: { q: '10.0.42.' }, filters: { q: '10.0.42.' }, order: 'hostname' },
  { name: 'environment=prod&criticality=high, sort -created_at', query: { environment: 'prod', criticality: 'high', sort: '-created_at' }, filters: { environment: 'prod', criticality: 'high' }, order: '-created_at' },
  { name: 'q=rack 42 (two words, notes)', query: { q: 'rack 42' }, filters: { q: 'rack 42' }, order: 'hostname' },
  { name: 'team=ml', query: { team: 'ml' }, filters: { team: 'ml' }, order: 'hostname' },
  { name: 'q=zzzz-none (no match)', query: { q: 'zzzz-none' }, filters: { q: 'zzzz-none' }, order: 'hostname' },
];

export async function fillHosts(pg: Client, hosts: number): Promise<void> {
  const chunk = 100_000;
  for (let from = 0; from < hosts; from += chunk) {
    await pg.query(
      `INSERT INTO inventory.hosts (hostname, fqdn, ip, os, environment, owner, team, criticality, tags, notes, created_at, updated_at)
       SELECT 'gen-' || g || '-' || substr(md5(g::text), 1, 6), 'gen-' || g || '.example.internal',
              ('10.0.0.0'::inet + g), (ARRAY['linux','linux','windows','macos'])[1 + g % 4], (ARRAY['prod','stage','dev'])[1 + g % 3],
              (ARRAY['payments','platform','web','data','ml'])[1 + g % 5] || '@example.com', (ARRAY['payments','platform','web','data','ml','search','edge','corp-it'])[1 + g % 8],
              (ARRAY['critical','high','medium','low'])[1 + (g / 3) % 4], ARRAY[(ARRAY['api','db','web','cache','worker','kafka','k8s','build'])[1 + g % 8], 'site-' || (g % 5)],
              CASE WHEN g % 10 = 0 THEN 'note ' || g || ', rack ' || (g % 97) END,
              c.t, c.t + (g % 1000) * interval '1 minute'
         FROM generate_series($1::int, $2::int) g,
              -- created over ~3 years in roughly id order with jitter (as an inventory grows), so sorting by
              -- created_at is a real choice for the planner (one shared timestamp made every created_at index useless)
              LATERAL (SELECT date_trunc('milliseconds', timestamptz '2022-01-01 00:00:00+00' + g * interval '90 seconds'
                              + (('x' || substr(md5(g::text), 7, 6))::bit(24)::int % 3600000) * interval '1 millisecond') AS t) c`,
      [from, Math.min(from + chunk, hosts) - 1],
    );
  }
  await pg.query('VACUUM ANALYZE inventory.hosts');
}

export const hostList: Scenario = {
  name: 'host-list',
  summary: 'list/search p50/p95 through the gateway at 1M hosts (slow filters) + EXPLAIN ANALYZE; baseline GET by id',
  async run(ctx) {
    const hosts = Number(process.env.BENCH_LIST_HOSTS ?? (ctx.quick ? 100_000 : 1_000_000));
    const samples = Number(process.env.BENCH_LIST_SAMPLES ?? (ctx.quick ? 20 : 60));
    const sys = await startSystem({ services: ['auth', 'inventory', 'gateway'], cpuProfDir: ctx.cpuProfDir, label: 'benchlist' });
    const pg = new Client({ connectionString: sys.db.url });
    await pg.connect();
    try {
      const t = Date.now();
      await fillHosts(pg, hosts);
      ctx.log(`filled ${hosts} hosts in ${Math.round((Date.now() - t) / 1000)} s`);
      const someId = (await pg.query('SELECT id FROM inventory.hosts LIMIT 1')).rows[0].id as string;
      const path = (q: Record<string, string | string[]>) => {
        const u = new URLSearchParams({ limit: '50' });
        for (const [k, v] of Object.entries(q)) for (const x of [v].flat()) u.append(k, x);
        return `/api/hosts?${u.toString()}`;
      };
      const explain = async (c: Case) => {
        // the statement the service sends for the first page (limit + 1 rows: the service's look-ahead)
        const { sql, params } = hostListSql(c.filters, c.order, null, 51);
        const { rows } = await pg.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
        const plan = (rows[0] as { 'QUERY PLAN': Array<{ 'Execution Time': number; Plan: unknown }> })['QUERY PLAN'][0];
        return { ms: plan['Execution Time'], plan: plan.Plan };
      };
      const timeIt = async (p: string) => {
        const ms: number[] = [];
        for (let i = 0; i < samples; i++) {
          const s = process.hrtime.bigint();
          const r = await sys.api.get(p);
          if (r.status !== 200) throw new Error(`${p}: ${r.status} ${r.body.toString().slice(0, 300)}`);
          ms.push(Number(process.hrtime.bigint() - s) / 1e6);
        }
        return latencySummary(ms);
      };
      for (const c of CASES) await timeIt(path(c.query)); // warm-up (caches, JIT)
      const rounds: Array<Record<string, { http: ReturnType<typeof latencySummary>; db_ms: number }> & { baseline?: unknown }> = [];
      const plans: Record<string, unknown> = {};
      for (let r = 0; r < ctx.rounds; r++) {
        const round: Record<string, { http: ReturnType<typeof latencySummary>; db_ms: number }> = {};
        round['GET /api/hosts/:id (baseline)'] = { http: await timeIt(`/api/hosts/${someId}`), db_ms: Number.NaN };
        for (const c of CASES) {
          const e = await explain(c);
          plans[c.name] = e.plan;
          round[c.name] = { http: await timeIt(path(c.query)), db_ms: e.ms };
          ctx.log(`round ${r + 1} ${c.name.padEnd(52)} p50 ${round[c.name].http.p50.toFixed(1)} p95 ${round[c.name].http.p95.toFixed(1)} ms | db ${e.ms.toFixed(1)} ms`);
        }
        rounds.push(round);
      }
      const rows: Row[] = CASES.map((c) => ({
        figure: `list at ${hosts / 1e6}M: ${c.name} p95 (p50 vs GET by id in ratio column)`,
        unit: 'ms',
        system: figure(rounds.map((r) => r[c.name].http.p95)),
        baseline: figure(rounds.map((r) => r[c.name].db_ms)),
        baseline_label: 'EXPLAIN ANALYZE execution',
        ratio: figure(rounds.map((r) => r[c.name].http.p50 - r['GET /api/hosts/:id (baseline)'].http.p50)),
        ratio_label: 'ms p50 above GET by id',
        goal: '≤ 25 ms',
      }));
      return { rows, detail: { hosts, samples, rounds, plans } };
    } finally {
      await pg.end().catch(() => undefined);
      await sys.stop();
    }
  },
};
