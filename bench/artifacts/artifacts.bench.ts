/**
 * Artifact streaming through the real gateway → artifacts service, compared with `cp` on the same disk.
 * `npm run bench:artifacts`. Sizes: BENCH_ARTIFACT_MB (default 500) and BENCH_ARTIFACT_SMALL_MB (default 50);
 * BENCH_ARTIFACT_RUNS rounds per size (default 3), medians reported, peak RSS the highest of the rounds.
 * The HTTP client runs in a process of its own (transfer-client.ts), timed there. BENCH_PROFILE_DIR=<dir>
 * makes the gateway and the artifacts service write V8 CPU profiles there.
 *
 * The gateway and the artifacts service run as child processes from dist/ so their peak RSS (VmHWM, reset
 * before each transfer through /proc/<pid>/clear_refs) can be read per upload/download. Auth and inventory
 * run in this process (login, host creation). Prints a table and writes bench/results/artifacts.json.
 * Goals: upload and download ≥ 50% of cp throughput; peak RSS flat (≤ 64 MB apart) between the two sizes.
 *
 * The edge's one-hop route is measured in the same rounds: the real nginx of deploy/nginx (/usr/sbin/nginx; skipped
 * with a note when missing) in front of the same gateway and artifacts service, where the gateway only issues the
 * ticket (auth_request on its internal port) and the bytes go nginx → artifacts. The client reaches it on a plain
 * HTTP listener added to the TLS server block of a temporary copy of the config, so it compares like for like with
 * the one-hop sink and source (plain HTTP too); BENCH_ARTIFACT_EDGE_TLS=1 measures through its HTTPS listener instead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceNodeFlags } from '@opsdesk/config';
import { runMigrations } from '@opsdesk/database';
import { NGINX_BIN, createTestEnv, freePort, makeSelfSignedCert, redRequestCount, startNginx, waitFor, writeNginxTree, type RunningNginx } from '@opsdesk/testing';
import { createOpsDeskClient } from '@opsdesk/client';
import { bootstrapFromEnv as bootAuth } from '../../services/auth/src/bootstrap';
import { createDataSource as authData } from '../../services/auth/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';
import { createDataSource as artifactsData } from '../../services/artifacts/src/database/data-source';
import type { TransferJob, TransferResult } from './transfer-client';

const ROOT = join(__dirname, '..', '..', '..');
const MB = 1024 * 1024;

interface ServiceModule {
  bootstrapFromEnv(env: NodeJS.ProcessEnv, opts?: Record<string, unknown>): Promise<{ close(): Promise<void> }>;
}
interface DataSourceModule {
  createDataSource(url: string): Parameters<typeof runMigrations>[0];
}

function spawnService(name: string, env: NodeJS.ProcessEnv): ChildProcess {
  // BENCH_PROFILE_DIR=<dir>: each service writes a V8 CPU profile there when it stops (open in Chrome DevTools)
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
  // the services' own V8 flags (deploy/node-flags.conf), then BENCH_SERVICE_NODE_FLAGS="--flag …": extra Node/V8
  // flags for the two services only (not the baselines' processes), e.g. --trace-gc with BENCH_SERVICE_STDOUT=1
  const flags = (process.env.BENCH_SERVICE_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const p = spawn(process.execPath, [...serviceNodeFlags(name), ...flags, ...profile, join(ROOT, 'dist', 'services', name, 'src', 'main.js')], { env, stdio: ['ignore', process.env.BENCH_SERVICE_STDOUT ? 'inherit' : 'ignore', 'inherit'] });
  p.on('exit', (code, sig) => {
    if (code !== 0 && sig === null) console.error(`${name} exited with ${code}`);
  });
  return p;
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}
/** CPU seconds (user + system) a process has burned so far, from /proc/<pid>/stat (fields 14 and 15, in ticks of 10 ms). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
/** CPU seconds of a process's children (nginx: the master's workers do all the proxying), found by their parent pid. */
function childrenCpuSeconds(parent: number): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited since readdir
    }
    // after "pid (comm) ": state, ppid, …, utime, stime (comm may hold spaces and parentheses, hence the last ')');
    // read from this one snapshot, not again by pid (the process may be gone by then)
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(f[1]) === parent) total += (Number(f[11]) + Number(f[12])) / 100;
  }
  return total;
}
/** Resets the peak RSS counter (Linux: writing 5 to clear_refs), so VmHWM afterwards is this transfer's peak. */
function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

async function makeFile(path: string, bytes: number): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(path);
  const chunk = 8 * MB;
  for (let written = 0; written < bytes; written += chunk) {
    const b = randomBytes(Math.min(chunk, bytes - written));
    hash.update(b);
    if (!out.write(b)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  return hash.digest('hex');
}

async function timed<T>(fn: () => Promise<T>): Promise<{ seconds: number; value: T }> {
  const t0 = process.hrtime.bigint();
  const value = await fn();
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, value };
}

/** Runs one transfer in the client process of its own (transfer-client.ts) and returns what it timed. */
function transfer(job: TransferJob): Promise<TransferResult> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(__dirname, 'transfer-client.js'), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => (out += c.toString()));
    p.on('error', reject);
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as TransferResult) : reject(new Error(`transfer client exited with ${code}`))));
  });
}

/** Starts one bare-hop.ts process and waits until it listens. */
function spawnBareHop(mode: 'sink' | 'hash-sink' | 'proxy' | 'hash-source', port: number, target: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(__dirname, 'bare-hop.js'), mode, String(port), target], { stdio: ['ignore', 'pipe', 'inherit'] });
    p.stdout.once('data', () => resolve(p));
    p.on('error', reject);
    p.on('exit', (code) => reject(new Error(`bare-hop ${mode} exited with ${code}`)));
  });
}

/**
 * How many artifact uploads and downloads the gateway answered itself (its RED histogram on the internal port). An
 * edge transfer must leave it unchanged: nginx falls back to the gateway when the ticket is refused (and the transfer
 * would still succeed), which would measure nginx → gateway → artifacts under the one-hop name.
 */
async function gatewayByteRequests(internalPort: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${internalPort}/metrics`)).text();
  return redRequestCount(text, [
    ['POST', '/api/hosts/:id/artifacts'],
    ['GET', '/api/artifacts/:id/download'],
  ]);
}

interface Edge {
  nginx: RunningNginx;
  dir: string;
  /** base URL of the route the bench measures (plain HTTP listener, or HTTPS with BENCH_ARTIFACT_EDGE_TLS=1) */
  url: string;
}

/**
 * Starts the deploy/ nginx from a temporary copy (writeNginxTree: upstreams, ports, pid/log and certificate paths)
 * with one bench-only edit: the TLS server block also listens on a plain HTTP port, so the one-hop route is measured
 * without TLS like its one-hop baselines (TLS would add the client's and nginx's encryption to one side only).
 */
async function startEdge(upstreams: { gateway: string; gatewayInternal: string; artifacts: string }): Promise<Edge> {
  const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-nginx-'));
  try {
    const tree = writeNginxTree(dir, upstreams.gateway, await freePort(), await freePort(), { gatewayInternal: upstreams.gatewayInternal, artifacts: upstreams.artifacts });
    makeSelfSignedCert(dir);
    const plainPort = await freePort();
    const conf = join(dir, 'opsdesk.conf');
    const tlsListen = `listen 127.0.0.1:${tree.httpsPort} ssl`;
    const text = readFileSync(conf, 'utf8');
    // checked, not assumed: a reworded listen line in deploy/ would otherwise leave the plain port unbound
    if (text.split(tlsListen).length !== 2) throw new Error(`expected one "${tlsListen}" in the copied opsdesk.conf`);
    writeFileSync(conf, text.replace(tlsListen, `listen 127.0.0.1:${plainPort};\n    ${tlsListen}`));
    const nginx = await startNginx(tree, async () => (await fetch(`http://127.0.0.1:${plainPort}/healthz`)).status === 200);
    const url = process.env.BENCH_ARTIFACT_EDGE_TLS === '1' ? `https://127.0.0.1:${tree.httpsPort}` : `http://127.0.0.1:${plainPort}`;
    return { nginx, dir, url };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Stops nginx and removes its directory. */
async function stopEdge(edge: Edge): Promise<void> {
  await edge.nginx.stop();
  rmSync(edge.dir, { recursive: true, force: true });
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function fsyncPath(path: string): Promise<void> {
  const h = await open(path, 'r+');
  await h.sync();
  await h.close();
}

/**
 * Flushes the page cache's dirty pages (sync(1)) before a timed transfer: every transfer then starts from the same
 * disk state instead of paying for the writeback of the one before it (a 500 MB upload leaves up to 500 MB dirty;
 * the one-hop sink measured 251–508 MB/s in one run depending on what ran before it).
 */
function settleDisk(): void {
  spawnSync('sync', { stdio: 'ignore' });
}

async function main(): Promise<void> {
  const large = Number(process.env.BENCH_ARTIFACT_MB ?? 500);
  const small = Number(process.env.BENCH_ARTIFACT_SMALL_MB ?? 50);
  const runs = Math.max(1, Number(process.env.BENCH_ARTIFACT_RUNS ?? 3));
  const work = join(ROOT, '.opsdesk', 'bench-artifacts');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const storage = join(work, 'storage');
  const { db, env } = await createTestEnv('benchartifacts', {
    ADMIN_EMAIL: 'bench@opsdesk.local',
    ADMIN_PASSWORD: 'Bench-Passw0rd!x',
    RATE_LIMIT_API_PER_MINUTE: '1000000',
    RATE_LIMIT_AUTH_PER_MINUTE: '100000',
    RATE_LIMIT_AUTH_BURST: '100000',
    LOG_LEVEL: 'error',
    ARTIFACT_STORAGE_PATH: storage,
    MAX_ARTIFACT_SIZE_MB: String(Math.max(large, small) + 1),
    REQUEST_TIMEOUT: '120',
    // the edge nginx (127.0.0.1) sets X-Forwarded-For on the ticket requests; the gateway believes it only from here
    TRUST_PROXY: '127.0.0.1',
  });
  const children: ChildProcess[] = [];
  let edge: Edge | null = null;
  const inProcess: Array<{ close(): Promise<void> }> = [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- inventory found by convention, like the e2e stack
    const inv = (name: string) => require(join(ROOT, 'dist', 'services', 'inventory', 'src', ...name.split('/'))) as unknown;
    await runMigrations(authData(env.DATABASE_URL as string));
    await runMigrations((inv('database/data-source') as DataSourceModule).createDataSource(env.DATABASE_URL as string));
    await runMigrations(artifactsData(env.DATABASE_URL as string));
    await seedAdmin(env);
    inProcess.push(await bootAuth(env, { quiet: true }));
    inProcess.push(await (inv('bootstrap') as ServiceModule).bootstrapFromEnv(env, { quiet: true }));

    const artifactsPort = await freePort();
    const gatewayPort = await freePort();
    const gatewayInternalPort = await freePort();
    const childEnv = { ...process.env, ...env, ARTIFACTS_PORT: String(artifactsPort), GATEWAY_PORT: String(gatewayPort), GATEWAY_INTERNAL_PORT: String(gatewayInternalPort), ARTIFACTS_URL: `http://127.0.0.1:${artifactsPort}` };
    const artifacts = spawnService('artifacts', childEnv);
    children.push(artifacts);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${artifactsPort}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'artifacts to be ready' });
    const gatewayProc = spawnService('gateway', childEnv);
    children.push(gatewayProc);
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${gatewayInternalPort}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'gateway to be ready' });
    // the architecture's ceiling: the same two hops in bare Node (bare-hop.ts), writing and fsyncing only
    const sinkPort = await freePort();
    const proxyPort = await freePort();
    children.push(await spawnBareHop('sink', sinkPort, join(work, 'bare-sink.bin')));
    children.push(await spawnBareHop('proxy', proxyPort, `http://127.0.0.1:${sinkPort}`));
    const bareProxy = `http://127.0.0.1:${proxyPort}`;
    // the one-hop baseline of issue 12: client → a bare Node sink that hashes (SHA-256) and fsyncs
    const hashSinkPort = await freePort();
    const hashSink = await spawnBareHop('hash-sink', hashSinkPort, join(work, 'bare-hash-sink.bin'));
    children.push(hashSink);
    const oneHop = `http://127.0.0.1:${hashSinkPort}`;
    let edgeSkipped: string | null = null;
    if (spawnSync(NGINX_BIN, ['-v']).status === 0) {
      edge = await startEdge({ gateway: `127.0.0.1:${gatewayPort}`, gatewayInternal: `127.0.0.1:${gatewayInternalPort}`, artifacts: `127.0.0.1:${artifactsPort}` });
    } else {
      edgeSkipped = `${NGINX_BIN} not found: the nginx one-hop figures (edge_*) are skipped`;
      console.log(`NOTE: ${edgeSkipped}`);
    }

    const login = await createOpsDeskClient({ baseUrl: gateway }).POST('/api/auth/login', { body: { email: 'bench@opsdesk.local', password: 'Bench-Passw0rd!x' } });
    if (!login.data) throw new Error(`login: ${login.response.status}`);
    const token = login.data.access_token;
    const host = await createOpsDeskClient({ baseUrl: gateway, token }).POST('/api/hosts', { body: { hostname: 'bench-host', ip: '10.200.0.1', environment: 'dev' } });
    if (!host.data) throw new Error(`host creation failed: ${host.response.status}`);
    const hostId = host.data.id;

    const rows: Array<Record<string, string | number>> = [];
    const results: Record<string, unknown> = { at: new Date().toISOString(), sizes_mb: [small, large], runs, edge: edge ? { url: edge.url, tls: edge.url.startsWith('https:') } : { skipped: edgeSkipped } };
    for (const sizeMb of [small, large]) {
      const bytes = sizeMb * MB;
      const src = join(work, `src-${sizeMb}.bin`);
      const expected = await makeFile(src, bytes);

      // Each round: cp of the same file on the same disk (alone, and with an fsync like the upload does),
      // then upload and download through the gateway, then through nginx's one-hop route, then the bare baselines.
      // The median of the rounds is reported.
      const cpDest = join(work, `cp-${sizeMb}.bin`);
      const dlDest = join(work, `dl-${sizeMb}.bin`);
      const t = {
        cp: [] as number[],
        cpSync: [] as number[],
        up: [] as number[],
        dl: [] as number[],
        edgeUp: [] as number[],
        edgeDl: [] as number[],
        bare: [] as number[],
        oneHop: [] as number[],
        oneHopDl: [] as number[],
      };
      // the one-hop download baseline: a bare Node server streaming this file, hashing it on the way (like a download)
      const sourcePort = await freePort();
      const source = await spawnBareHop('hash-source', sourcePort, src);
      // CPU seconds each service burned per transfer: far less sensitive to the busy machine than the wall time
      // ...and the one-hop sink and source, for the same bytes: what hashing and writing alone cost in one process
      // ...and through nginx: the gateway (the ticket only, ~0), the artifacts service and the nginx workers
      const cpu = {
        upGateway: [] as number[],
        upArtifacts: [] as number[],
        dlGateway: [] as number[],
        dlArtifacts: [] as number[],
        upSink: [] as number[],
        dlSource: [] as number[],
        edgeUpGateway: [] as number[],
        edgeUpArtifacts: [] as number[],
        edgeUpNginx: [] as number[],
        edgeDlGateway: [] as number[],
        edgeDlArtifacts: [] as number[],
        edgeDlNginx: [] as number[],
      };
      const cpuNow = () => ({ gateway: cpuSeconds(gatewayProc.pid!), artifacts: cpuSeconds(artifacts.pid!) });
      const upPeak = { gateway: 0, artifacts: 0 };
      const dlPeak = { gateway: 0, artifacts: 0 };
      for (let round = 0; round < runs; round++) {
        settleDisk();
        t.cp.push((await timed(() => new Promise<void>((res, rej) => spawn('cp', [src, cpDest]).on('exit', (c) => (c === 0 ? res() : rej(new Error(`cp ${c}`))))))).seconds);
        rmSync(cpDest, { force: true });
        settleDisk();
        t.cpSync.push(
          (
            await timed(async () => {
              await copyFile(src, cpDest);
              await fsyncPath(cpDest);
            })
          ).seconds,
        );
        rmSync(cpDest, { force: true });

        settleDisk();
        resetPeak(gatewayProc.pid!);
        resetPeak(artifacts.pid!);
        let c0 = cpuNow();
        const up = await transfer({ kind: 'upload', gateway, token, hostId, file: src, size: bytes });
        let c1 = cpuNow();
        cpu.upGateway.push(c1.gateway - c0.gateway);
        cpu.upArtifacts.push(c1.artifacts - c0.artifacts);
        if (up.status !== 201) throw new Error(`upload ${sizeMb} MB: ${up.status} ${up.body}`);
        const art = JSON.parse(up.body ?? '{}') as { id: string; sha256: string };
        if (art.sha256 !== expected) throw new Error('uploaded sha256 differs');
        upPeak.gateway = Math.max(upPeak.gateway, procStatus(gatewayProc.pid!, 'VmHWM'));
        upPeak.artifacts = Math.max(upPeak.artifacts, procStatus(artifacts.pid!, 'VmHWM'));
        t.up.push(up.seconds);

        settleDisk();
        resetPeak(gatewayProc.pid!);
        resetPeak(artifacts.pid!);
        c0 = cpuNow();
        const dl = await transfer({ kind: 'download', gateway, token, id: art.id, dest: dlDest });
        c1 = cpuNow();
        cpu.dlGateway.push(c1.gateway - c0.gateway);
        cpu.dlArtifacts.push(c1.artifacts - c0.artifacts);
        if (dl.status !== 200 || dl.sha256 !== expected) throw new Error(`download ${sizeMb} MB: ${dl.status}, sha ${dl.sha256}`);
        dlPeak.gateway = Math.max(dlPeak.gateway, procStatus(gatewayProc.pid!, 'VmHWM'));
        dlPeak.artifacts = Math.max(dlPeak.artifacts, procStatus(artifacts.pid!, 'VmHWM'));
        t.dl.push(dl.seconds);
        rmSync(dlDest, { force: true });

        if (edge) {
          const nginxPid = edge.nginx.proc.pid!;
          const edgeCpuNow = () => ({ ...cpuNow(), nginx: childrenCpuSeconds(nginxPid) });
          const viaGateway0 = await gatewayByteRequests(gatewayInternalPort);
          // the metric this check relies on must count the gateway's own transfers (names changed → fail loudly)
          if (round === 0 && viaGateway0 < 2) throw new Error(`the gateway's RED histogram did not count its own upload and download (${viaGateway0})`);
          settleDisk();
          let e0 = edgeCpuNow();
          const eUp = await transfer({ kind: 'upload', gateway: edge.url, token, hostId, file: src, size: bytes });
          let e1 = edgeCpuNow();
          if (eUp.status !== 201) throw new Error(`nginx one-hop upload ${sizeMb} MB: ${eUp.status} ${eUp.body}`);
          const eArt = JSON.parse(eUp.body ?? '{}') as { id: string; sha256: string };
          if (eArt.sha256 !== expected) throw new Error('nginx one-hop uploaded sha256 differs');
          cpu.edgeUpGateway.push(e1.gateway - e0.gateway);
          cpu.edgeUpArtifacts.push(e1.artifacts - e0.artifacts);
          cpu.edgeUpNginx.push(e1.nginx - e0.nginx);
          t.edgeUp.push(eUp.seconds);

          settleDisk();
          e0 = edgeCpuNow();
          const eDl = await transfer({ kind: 'download', gateway: edge.url, token, id: eArt.id, dest: dlDest });
          e1 = edgeCpuNow();
          if (eDl.status !== 200 || eDl.sha256 !== expected) throw new Error(`nginx one-hop download ${sizeMb} MB: ${eDl.status}, sha ${eDl.sha256}`);
          cpu.edgeDlGateway.push(e1.gateway - e0.gateway);
          cpu.edgeDlArtifacts.push(e1.artifacts - e0.artifacts);
          cpu.edgeDlNginx.push(e1.nginx - e0.nginx);
          t.edgeDl.push(eDl.seconds);
          rmSync(dlDest, { force: true });
          const viaGateway1 = await gatewayByteRequests(gatewayInternalPort);
          if (viaGateway1 !== viaGateway0) throw new Error(`nginx sent ${viaGateway1 - viaGateway0} of the one-hop transfers to the gateway (ticket refused?)`);
        }

        settleDisk();
        const bare = await transfer({ kind: 'upload', gateway: bareProxy, token: 'none', hostId: 'bare', file: src, size: bytes });
        if (bare.status !== 201) throw new Error(`bare two-hop upload: ${bare.status}`);
        t.bare.push(bare.seconds);
        settleDisk();
        const sink0 = cpuSeconds(hashSink.pid!);
        const one = await transfer({ kind: 'upload', gateway: oneHop, token: 'none', hostId: 'bare', file: src, size: bytes });
        if (one.status !== 201) throw new Error(`one-hop sink upload: ${one.status}`);
        t.oneHop.push(one.seconds);
        cpu.upSink.push(cpuSeconds(hashSink.pid!) - sink0);
        settleDisk();
        const source0 = cpuSeconds(source.pid!);
        const oneDl = await transfer({ kind: 'download', gateway: `http://127.0.0.1:${sourcePort}`, token: 'none', id: 'bare', dest: dlDest });
        if (oneDl.status !== 200 || oneDl.sha256 !== expected) throw new Error(`one-hop source download: ${oneDl.status}`);
        t.oneHopDl.push(oneDl.seconds);
        cpu.dlSource.push(cpuSeconds(source.pid!) - source0);
        rmSync(dlDest, { force: true });
      }
      const exited = new Promise((r) => source.once('exit', r));
      source.kill('SIGTERM');
      await exited;
      rmSync(src, { force: true });
      const cp = { seconds: median(t.cp) };
      const cpSync = { seconds: median(t.cpSync) };
      const up = { seconds: median(t.up) };
      const dl = { seconds: median(t.dl) };
      const bare = { seconds: median(t.bare) };

      const mbps = (s: number) => Math.round((sizeMb / s) * 10) / 10;
      const row = {
        size_mb: sizeMb,
        cp_mb_s: mbps(cp.seconds),
        cp_fsync_mb_s: mbps(cpSync.seconds),
        upload_mb_s: mbps(up.seconds),
        download_mb_s: mbps(dl.seconds),
        upload_vs_cp_pct: Math.round((cp.seconds / up.seconds) * 100),
        upload_vs_cp_fsync_pct: Math.round((cpSync.seconds / up.seconds) * 100),
        download_vs_cp_pct: Math.round((cp.seconds / dl.seconds) * 100),
        bare_two_hop_upload_mb_s: mbps(bare.seconds),
        upload_vs_bare_pct: Math.round((bare.seconds / up.seconds) * 100),
        one_hop_sink_upload_mb_s: mbps(median(t.oneHop)),
        upload_vs_one_hop_pct: Math.round((median(t.oneHop) / up.seconds) * 100),
        one_hop_source_download_mb_s: mbps(median(t.oneHopDl)),
        download_vs_one_hop_pct: Math.round((median(t.oneHopDl) / dl.seconds) * 100),
        upload_peak_rss_gateway_mb: Math.round(upPeak.gateway),
        upload_peak_rss_artifacts_mb: Math.round(upPeak.artifacts),
        download_peak_rss_gateway_mb: Math.round(dlPeak.gateway),
        download_peak_rss_artifacts_mb: Math.round(dlPeak.artifacts),
        upload_cpu_s_gateway: median(cpu.upGateway),
        upload_cpu_s_artifacts: median(cpu.upArtifacts),
        download_cpu_s_gateway: median(cpu.dlGateway),
        download_cpu_s_artifacts: median(cpu.dlArtifacts),
        ...(t.edgeUp.length
          ? {
              edge_upload_mb_s: mbps(median(t.edgeUp)),
              edge_upload_vs_one_hop_pct: Math.round((median(t.oneHop) / median(t.edgeUp)) * 100),
              edge_download_mb_s: mbps(median(t.edgeDl)),
              edge_download_vs_one_hop_pct: Math.round((median(t.oneHopDl) / median(t.edgeDl)) * 100),
              edge_upload_cpu_s_gateway: median(cpu.edgeUpGateway),
              edge_upload_cpu_s_artifacts: median(cpu.edgeUpArtifacts),
              edge_upload_cpu_s_nginx: median(cpu.edgeUpNginx),
              edge_download_cpu_s_gateway: median(cpu.edgeDlGateway),
              edge_download_cpu_s_artifacts: median(cpu.edgeDlArtifacts),
              edge_download_cpu_s_nginx: median(cpu.edgeDlNginx),
            }
          : {}),
      };
      rows.push(row);
      // per-round seconds, for the suite's median and spread (bench/scenarios/artifacts.ts)
      results[`size_${sizeMb}`] = { ...row, seconds: t, cpu_seconds: cpu };
    }
    const [s, l] = rows;
    results.rss_spread_mb = {
      gateway: Math.abs(Number(l.upload_peak_rss_gateway_mb) - Number(s.upload_peak_rss_gateway_mb)),
      artifacts: Math.abs(Number(l.upload_peak_rss_artifacts_mb) - Number(s.upload_peak_rss_artifacts_mb)),
    };
    console.table(rows);
    console.log('peak RSS spread between the two upload sizes (MB):', results.rss_spread_mb);
    const dir = join(ROOT, 'bench', 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'artifacts.json'), JSON.stringify(results, null, 2));
  } finally {
    // nginx first: it is in front of the gateway and the artifacts service
    if (edge) await stopEdge(edge);
    for (const c of children.reverse()) {
      if (c.exitCode === null) {
        const exited = new Promise((r) => c.once('exit', r));
        c.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      }
    }
    for (const a of inProcess.reverse()) await a.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    if (existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
