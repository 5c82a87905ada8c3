/**
 * durability: what an fsync per JetStream write costs. Two private nats-servers on loopback (own store
 * directories): the default file store, and `jetstream { sync_interval: always }` (fsync before every ack).
 * Per round, per server: sync publish latency at c=1 (p50/p99) and throughput at c=16, 256 B messages.
 * nats-server < 2.10 does not know sync_interval: then the "always" server cannot start, the row says so,
 * and the cost of one fsync per 256 B write on the same disk (Node write + fsync) is measured as the proxy.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { closeSync, fsyncSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { closedLoop, compact, sleep } from '../lib/load';
import { figure, latencySummary } from '../lib/stats';
import { freePortOf } from '../lib/util';
import { stopChild, type Row, type Scenario } from '../lib/scenario';

async function startNats(dir: string, name: string, extra: string): Promise<{ proc: ChildProcess; url: string } | { error: string }> {
  const port = await freePortOf();
  const store = join(dir, name);
  const conf = join(dir, `${name}.conf`);
  writeFileSync(conf, `listen: 127.0.0.1:${port}\nhttp: 0\njetstream { store_dir: "${store}"${extra ? `, ${extra}` : ''} }\n`);
  let out = '';
  const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) return { error: out.trim().split('\n').pop() ?? `exited ${proc.exitCode}` };
    const nc = await connect({ servers: `nats://127.0.0.1:${port}`, maxReconnectAttempts: 0 }).catch(() => null);
    if (nc) {
      await nc.close();
      return { proc, url: `nats://127.0.0.1:${port}` };
    }
    await sleep(100);
  }
  proc.kill('SIGKILL');
  return { error: 'not ready' };
}

async function measure(url: string, seconds: number, label: string): Promise<{ c1: ReturnType<typeof compact>; c16: ReturnType<typeof compact> }> {
  const nc: NatsConnection = await connect({ servers: url });
  try {
    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: `DUR_${label}`, subjects: [`dur_${label}.>`] }).catch(() => undefined);
    const js = nc.jetstream();
    const body = Buffer.alloc(256, 120);
    const op = async () => {
      await js.publish(`dur_${label}.x`, body);
      return true;
    };
    await closedLoop(op, 4, 0.5);
    const c1 = compact(await closedLoop(op, 1, seconds));
    const c16 = compact(await closedLoop(op, 16, seconds));
    return { c1, c16 };
  } finally {
    await nc.close();
  }
}

function fsyncLatency(dir: string, seconds: number): ReturnType<typeof latencySummary> {
  const fd = openSync(join(dir, 'fsync.bin'), 'w');
  const buf = Buffer.alloc(256, 1);
  const out: number[] = [];
  const end = Date.now() + seconds * 1000;
  try {
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf);
      fsyncSync(fd);
      out.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
  }
  return latencySummary(out);
}

export const durability: Scenario = {
  name: 'durability',
  summary: 'JetStream publish with sync_interval: always vs the default (private nats-servers)',
  async run(ctx) {
    const seconds = Number(process.env.BENCH_DURABILITY_SECONDS ?? (ctx.quick ? 1.5 : 4));
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-dur-'));
    const version = (() => {
      try {
        return execFileSync('nats-server', ['--version']).toString().trim();
      } catch {
        return 'unknown';
      }
    })();
    const def = await startNats(dir, 'default', '');
    const always = await startNats(dir, 'always', 'sync_interval: always');
    try {
      if ('error' in def) throw new Error(`nats-server (default) did not start: ${def.error}`);
      const alwaysError = 'error' in always ? always.error : null;
      if (alwaysError) ctx.log(`sync_interval: always refused by ${version}: ${alwaysError}; measuring fsync per write on this disk instead`);
      const rounds: Array<Record<string, unknown>> = [];
      for (let r = 0; r < ctx.rounds; r++) {
        const d = await measure(def.url, seconds, `d${r}`);
        const a = 'error' in always ? null : await measure(always.url, seconds, `a${r}`);
        const fsync = fsyncLatency(dir, Math.min(seconds, 2));
        rounds.push({ default: d, always: a, fsync_256b_ms: fsync });
        ctx.log(`round ${r + 1}: default c1 p50 ${d.c1.lat_ms.p50.toFixed(2)} ms, c16 ${Math.round(d.c16.per_s)}/s | always ${a ? `c1 p50 ${a.c1.lat_ms.p50.toFixed(2)} ms, c16 ${Math.round(a.c16.per_s)}/s` : 'n/a'} | write+fsync 256 B p50 ${fsync.p50.toFixed(2)} ms`);
      }
      type M = { c1: ReturnType<typeof compact>; c16: ReturnType<typeof compact> };
      const rs = rounds as unknown as Array<{ default: M; always: M | null; fsync_256b_ms: ReturnType<typeof latencySummary> }>;
      const na = figure([]);
      const rows: Row[] = [
        { figure: `JetStream publish c=1 p50: sync_interval always vs default${alwaysError ? ` (always: unsupported by ${version})` : ''}`, unit: 'ms', system: alwaysError ? na : figure(rs.map((r) => r.always!.c1.lat_ms.p50)), baseline: figure(rs.map((r) => r.default.c1.lat_ms.p50)), baseline_label: 'default' },
        { figure: 'JetStream publish c=16 throughput: always vs default', unit: '/s', system: alwaysError ? na : figure(rs.map((r) => r.always!.c16.per_s)), baseline: figure(rs.map((r) => r.default.c16.per_s)), baseline_label: 'default' },
        { figure: 'one 256 B write + fsync on the store disk (the per-message cost of "always")', unit: 'ms', system: figure(rs.map((r) => r.fsync_256b_ms.p50)), baseline: figure(rs.map((r) => r.fsync_256b_ms.p99)), baseline_label: 'p99' },
      ];
      return { rows, detail: { version, always_error: alwaysError, seconds, rounds } };
    } finally {
      if (!('error' in def)) await stopChild(def.proc);
      if (!('error' in always)) await stopChild(always.proc);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
