/**
 * login: POST /api/auth/login p50/p99 (gateway → NATS → auth → Postgres, Argon2id at the production
 * parameters), and the p99 of host reads (GET /api/hosts/:id, c=1) alone vs during a 50-way login storm
 * (50 clients logging in back to back), in the same round.
 */
import { HttpClient, closedLoop, compact } from '../lib/load';
import { figure } from '../lib/stats';
import { ADMIN_EMAIL, ADMIN_PASSWORD, hostBody, startSystem } from '../lib/system';
import type { Row, Scenario } from '../lib/scenario';

export const login: Scenario = {
  name: 'login',
  summary: 'login p50/p99; read p99 alone vs during a 50-way login storm',
  async run(ctx) {
    const seconds = Number(process.env.BENCH_LOGIN_SECONDS ?? (ctx.quick ? 3 : 8));
    const storm = Number(process.env.BENCH_LOGIN_STORM ?? 50);
    const sys = await startSystem({ services: ['auth', 'inventory', 'gateway'], cpuProfDir: ctx.cpuProfDir, label: 'benchlogin' });
    const anon = new HttpClient(sys.url, {}, storm + 4);
    try {
      const created = await sys.api.req('POST', '/api/hosts', hostBody(sys.id, 1));
      const id = (JSON.parse(created.body.toString()) as { id: string }).id;
      const doLogin = async () => (await anon.req('POST', '/api/auth/login', { email: ADMIN_EMAIL, password: ADMIN_PASSWORD })).status === 200;
      const read = async () => (await sys.api.get(`/api/hosts/${id}`)).status === 200;
      await closedLoop(doLogin, 1, 2);
      await closedLoop(read, 1, 1);
      const rounds: Array<Record<string, ReturnType<typeof compact>>> = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const logins = await closedLoop(doLogin, 1, seconds);
        const quiet = await closedLoop(read, 1, seconds);
        let stormRes: Awaited<ReturnType<typeof closedLoop>> | null = null;
        const [during] = await Promise.all([closedLoop(read, 1, seconds), closedLoop(doLogin, storm, seconds).then((s) => (stormRes = s))]);
        const st = stormRes as unknown as Awaited<ReturnType<typeof closedLoop>>;
        rounds.push({ logins: compact(logins), read_quiet: compact(quiet), read_storm: compact(during), storm: compact(st) });
        ctx.log(
          `round ${r + 1}: login p50 ${logins.lat_ms.p50.toFixed(1)} p99 ${logins.lat_ms.p99.toFixed(1)} ms | read p99 quiet ${quiet.lat_ms.p99.toFixed(1)} ms, during storm ${during.lat_ms.p99.toFixed(1)} ms (storm ${Math.round(st.per_s)} logins/s, p50 ${st.lat_ms.p50.toFixed(0)} ms)`,
        );
      }
      const rows: Row[] = [
        { figure: 'login p50 (sequential)', unit: 'ms', system: figure(rounds.map((r) => r.logins.lat_ms.p50)) },
        { figure: 'login p99 (sequential)', unit: 'ms', system: figure(rounds.map((r) => r.logins.lat_ms.p99)) },
        { figure: `read p99 during a ${storm}-way login storm vs alone`, unit: 'ms', system: figure(rounds.map((r) => r.read_storm.lat_ms.p99)), baseline: figure(rounds.map((r) => r.read_quiet.lat_ms.p99)), baseline_label: 'no storm' },
        { figure: `${storm}-way login storm throughput / p50`, unit: '/s', system: figure(rounds.map((r) => r.storm.per_s)), ratio: figure(rounds.map((r) => r.storm.lat_ms.p50)), ratio_label: 'ms p50' },
      ];
      return { rows, detail: { seconds, storm, rounds } };
    } finally {
      anon.close();
      await sys.stop();
    }
  },
};
