/**
 * gateway-hop: GET /api/hosts/:id through the gateway vs the same RPC sent straight over NATS with the
 * project's RpcClient (signed context, like the gateway) vs a bare Fastify handler (ceiling of one HTTP hop),
 * at concurrency 1 and 16. Each round measures the three back to back, in rotating order, on the same host ids.
 * BENCH_HOP_TRACING=0 boots the services without OpenTelemetry (measures what tracing costs).
 */
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ContextSigner, batchedRpcContextSigner } from '@opsdesk/authn';
import { InventoryRpc, type RpcContext } from '@opsdesk/contracts';
import { RpcClient } from '@opsdesk/messaging';
import { connect, type NatsConnection } from 'nats';
import { HttpClient, closedLoop, compact, type LoopResult } from '../lib/load';
import { freePortOf, principalOf } from '../lib/util';
import { figure } from '../lib/stats';
import { hostBody, startSystem } from '../lib/system';
import { spawnReady, stopChild, type Row, type Scenario } from '../lib/scenario';

export const gatewayHop: Scenario = {
  name: 'gateway-hop',
  summary: 'GET /api/hosts/:id via gateway vs direct RpcClient over NATS vs bare Fastify, c=1 and c=16',
  async run(ctx) {
    const seconds = Number(process.env.BENCH_HOP_SECONDS ?? (ctx.quick ? 1.5 : 4));
    const tracing = process.env.BENCH_HOP_TRACING !== '0';
    const sys = await startSystem({ services: ['auth', 'inventory', 'gateway'], tracing, cpuProfDir: ctx.cpuProfDir, label: 'benchhop' });
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-hop-'));
    let bare: Awaited<ReturnType<typeof spawnReady>> | null = null;
    let echo: Awaited<ReturnType<typeof spawnReady>> | null = null;
    let nc: NatsConnection | null = null;
    const rpc = new RpcClient({
      servers: [sys.env.NATS_URL as string],
      subjectPrefix: sys.env.RPC_SUBJECT_PREFIX as string,
      timeoutMs: 30_000,
      name: 'bench-direct',
      // signed like the gateway signs (batched per event-loop turn)
      signContext: batchedRpcContextSigner(new ContextSigner('gateway', sys.env.GATEWAY_CONTEXT_PRIVATE_KEY as string)),
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await sys.api.req('POST', '/api/hosts', hostBody(sys.id, i));
        if (r.status !== 201) throw new Error(`create: ${r.status} ${r.body.toString()}`);
        ids.push((JSON.parse(r.body.toString()) as { id: string }).id);
      }
      const sample = await sys.api.get(`/api/hosts/${ids[0]}`);
      writeFileSync(join(dir, 'body.json'), sample.body);
      const barePort = await freePortOf();
      bare = await spawnReady(join(__dirname, '..', 'lib', 'bare-fastify.js'), [String(barePort), join(dir, 'body.json')]);
      const bareApi = new HttpClient(`http://127.0.0.1:${barePort}`);
      await rpc.connect();
      const principal = principalOf(sys.token);
      const rctx = (i: number): RpcContext => ({ actor: { user_id: principal.user_id, email: null, ip: '127.0.0.1', user_agent: 'bench' }, request_id: `bench-${i}`, principal });
      // bare NATS request/reply to a responder process, with the RPC answer's body: the transport's floor
      const direct = await rpc.call(InventoryRpc.HOSTS_GET, { id: ids[0] }, { actor: null, request_id: 'x', principal: principalOf(sys.token) }).catch(() => null);
      writeFileSync(join(dir, 'rpc.json'), JSON.stringify(direct ?? {}));
      const echoSubject = `bench_${sys.id}.echo`;
      echo = await spawnReady(join(__dirname, '..', 'lib', 'nats-echo.js'), [sys.env.NATS_URL as string, echoSubject, join(dir, 'rpc.json')]);
      nc = await connect({ servers: sys.env.NATS_URL as string });
      const natsConn = nc;
      const reqBody = Buffer.from(JSON.stringify({ ctx: rctx(0), data: { id: ids[0] } }));

      const targets: Record<string, (i: number) => Promise<boolean>> = {
        gateway: async (i) => (await sys.api.get(`/api/hosts/${ids[i % ids.length]}`)).status === 200,
        direct: async (i) => {
          await rpc.call(InventoryRpc.HOSTS_GET, { id: ids[i % ids.length] }, rctx(i));
          return true;
        },
        nats: async () => {
          await natsConn.request(echoSubject, reqBody, { timeout: 30_000 });
          return true;
        },
        bare: async (i) => (await bareApi.get(`/api/hosts/${ids[i % ids.length]}`)).status === 200,
      };
      // warm-up: JIT, pools, connections
      for (const op of Object.values(targets)) await closedLoop(op, 16, ctx.quick ? 1 : 2);

      const perRound: Array<Record<string, Record<string, ReturnType<typeof compact> & { gateway_cpu_ms_per_req: number; inventory_cpu_ms_per_req: number }>>> = [];
      const names = Object.keys(targets);
      for (let r = 0; r < ctx.rounds; r++) {
        const round: Record<string, Record<string, ReturnType<typeof compact> & { gateway_cpu_ms_per_req: number; inventory_cpu_ms_per_req: number }>> = {};
        for (const c of [1, 16]) {
          round[`c${c}`] = {};
          const order = names.map((_, k) => names[(k + r) % names.length]);
          for (const n of order) {
            const cpu0 = { gw: sys.procs.gateway?.cpuMs() ?? 0, inv: sys.procs.inventory?.cpuMs() ?? 0 };
            const res: LoopResult = await closedLoop(targets[n], c, seconds);
            // CPU the services burned per answered request: less sensitive to a busy machine than latency
            const cpu = {
              gateway_cpu_ms_per_req: ((sys.procs.gateway?.cpuMs() ?? 0) - cpu0.gw) / res.ok,
              inventory_cpu_ms_per_req: ((sys.procs.inventory?.cpuMs() ?? 0) - cpu0.inv) / res.ok,
            };
            round[`c${c}`][n] = { ...compact(res), ...cpu };
          }
          ctx.log(`round ${r + 1} c=${c}: ${names.map((n) => `${n} p50 ${round[`c${c}`][n].lat_ms.p50.toFixed(2)} ms ${Math.round(round[`c${c}`][n].per_s)}/s`).join(' | ')}`);
          ctx.log(`  cpu/req gateway ${round[`c${c}`].gateway.gateway_cpu_ms_per_req.toFixed(2)} ms, inventory ${round[`c${c}`].gateway.inventory_cpu_ms_per_req.toFixed(2)} ms (direct: ${round[`c${c}`].direct.inventory_cpu_ms_per_req.toFixed(2)} ms)`);
        }
        perRound.push(round);
      }
      const f = (c: string, n: string, k: 'p50' | 'p99' | 'per_s') => figure(perRound.map((r) => (k === 'per_s' ? r[c][n].per_s : r[c][n].lat_ms[k])));
      const ratio = (c: string, a: string, b: string, k: 'p50' | 'per_s', diff = false) =>
        figure(perRound.map((r) => {
          const x = k === 'per_s' ? r[c][a].per_s : r[c][a].lat_ms[k];
          const y = k === 'per_s' ? r[c][b].per_s : r[c][b].lat_ms[k];
          return diff ? x - y : (x / y) * 100;
        }));
      const rows: Row[] = [
        { figure: 'GET /api/hosts/:id c=1 p50: gateway vs direct RPC', unit: 'ms', system: f('c1', 'gateway', 'p50'), baseline: f('c1', 'direct', 'p50'), baseline_label: 'RpcClient over NATS', ratio: ratio('c1', 'gateway', 'direct', 'p50', true), ratio_label: 'added ms', goal: '≤ 1 ms added' },
        { figure: 'GET /api/hosts/:id c=1 p50: bare Fastify ceiling', unit: 'ms', system: f('c1', 'bare', 'p50') },
        { figure: 'GET /api/hosts/:id c=16 throughput: gateway vs direct RPC', unit: 'req/s', system: f('c16', 'gateway', 'per_s'), baseline: f('c16', 'direct', 'per_s'), baseline_label: 'RpcClient over NATS', ratio: ratio('c16', 'gateway', 'direct', 'per_s'), ratio_label: '% of direct', goal: '≥ 60% of direct' },
        { figure: 'GET /api/hosts/:id c=16 p50: gateway vs direct RPC', unit: 'ms', system: f('c16', 'gateway', 'p50'), baseline: f('c16', 'direct', 'p50'), baseline_label: 'RpcClient over NATS' },
        { figure: 'GET /api/hosts/:id c=16 throughput: bare Fastify ceiling', unit: 'req/s', system: f('c16', 'bare', 'per_s') },
        { figure: 'RPC alone (PK lookup) c=1 p50 vs bare NATS req/reply', unit: 'ms', system: f('c1', 'direct', 'p50'), baseline: f('c1', 'nats', 'p50'), baseline_label: 'NATS request to an echo process', ratio: ratio('c1', 'direct', 'nats', 'p50', true), ratio_label: 'added ms', goal: '≤ 1 ms' },
        { figure: 'CPU per GET at c=16: gateway process', unit: 'ms', system: figure(perRound.map((r) => r.c16.gateway.gateway_cpu_ms_per_req)) },
        { figure: 'CPU per GET at c=16: inventory process (gateway / direct RPC)', unit: 'ms', system: figure(perRound.map((r) => r.c16.gateway.inventory_cpu_ms_per_req)), baseline: figure(perRound.map((r) => r.c16.direct.inventory_cpu_ms_per_req)), baseline_label: 'direct RPC' },
      ];
      bareApi.close();
      return { rows, detail: { tracing, seconds_per_measurement: seconds, rounds: perRound } };
    } finally {
      await rpc.onModuleDestroy().catch(() => undefined);
      if (bare) await stopChild(bare);
      if (echo) await stopChild(echo);
      await nc?.close().catch(() => undefined);
      await sys.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
