/**
 * Artifact streaming through the real gateway → artifacts service, compared with `cp` on the same disk.
 * `npm run bench:artifacts`. Sizes: BENCH_ARTIFACT_MB (default 500) and BENCH_ARTIFACT_SMALL_MB (default 50).
 *
 * The gateway and the artifacts service run as child processes from dist/ so their peak RSS (VmHWM, reset
 * before each transfer through /proc/<pid>/clear_refs) can be read per upload/download. Auth and inventory
 * run in this process (login, host creation). Prints a table and writes bench/results/artifacts.json.
 * Goals: upload and download ≥ 50% of cp throughput; peak RSS flat (≤ 64 MB apart) between the two sizes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { copyFile, open } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { runMigrations } from '@opsdesk/database';
import { createTestEnv, freePort, waitFor } from '@opsdesk/testing';
import { bootstrapFromEnv as bootAuth } from '../../services/auth/src/bootstrap';
import { createDataSource as authData } from '../../services/auth/src/database/data-source';
import { seedAdmin } from '../../services/auth/src/seed-admin';
import { createDataSource as artifactsData } from '../../services/artifacts/src/database/data-source';

const ROOT = join(__dirname, '..', '..', '..');
const MB = 1024 * 1024;

interface ServiceModule {
  bootstrapFromEnv(env: NodeJS.ProcessEnv, opts?: Record<string, unknown>): Promise<{ close(): Promise<void> }>;
}
interface DataSourceModule {
  createDataSource(url: string): Parameters<typeof runMigrations>[0];
}

function spawnService(name: string, env: NodeJS.ProcessEnv): ChildProcess {
  const p = spawn(process.execPath, [join(ROOT, 'dist', 'services', name, 'src', 'main.js')], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  p.on('exit', (code, sig) => {
    if (code !== 0 && sig === null) console.error(`${name} exited with ${code}`);
  });
  return p;
}

function procStatus(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
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

/** Streams a file as multipart/form-data through the gateway (never in memory). */
function upload(gateway: string, token: string, hostId: string, file: string, size: number): Promise<{ status: number; body: string }> {
  const boundary = `bench${randomBytes(8).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="kind"\r\n\r\nsupport_bundle\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bundle.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(`/api/hosts/${hostId}/artifacts`, gateway), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${boundary}`, 'content-length': String(head.length + size + tail.length) },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    const body = new PassThrough({ highWaterMark: MB });
    body.pipe(req);
    void (async () => {
      body.write(head);
      await pipeline(createReadStream(file, { highWaterMark: MB }), body, { end: false });
      body.end(tail);
    })().catch(reject);
  });
}

function download(gateway: string, token: string, id: string, dest: string): Promise<{ status: number; sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(new URL(`/api/artifacts/${id}/download`, gateway), { headers: { authorization: `Bearer ${token}` } });
    req.on('response', (res) => {
      const hash = createHash('sha256');
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        hash.update(c);
      });
      pipeline(res, createWriteStream(dest)).then(() => resolve({ status: res.statusCode ?? 0, sha256: hash.digest('hex'), bytes }), reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function fsyncPath(path: string): Promise<void> {
  const h = await open(path, 'r+');
  await h.sync();
  await h.close();
}

async function main(): Promise<void> {
  const large = Number(process.env.BENCH_ARTIFACT_MB ?? 500);
  const small = Number(process.env.BENCH_ARTIFACT_SMALL_MB ?? 50);
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
  });
  const children: ChildProcess[] = [];
  const inProcess: Array<{ close(): Promise<void> }> = [];
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- inventory found by convention, like the e2e stack
    const inv = (name: string) => require(join(ROOT, 'dist', 'services', 'inventory', 'src', ...name.split('/'))) as unknown;
    await runMigrations(authData(db.url));
    await runMigrations((inv('database/data-source') as DataSourceModule).createDataSource(db.url));
    await runMigrations(artifactsData(db.url));
    await seedAdmin(env);
    inProcess.push(await bootAuth(env, { quiet: true }));
    inProcess.push(await (inv('bootstrap') as ServiceModule).bootstrapFromEnv(env, { quiet: true }));

    const artifactsPort = await freePort();
    const gatewayPort = await freePort();
    const childEnv = { ...process.env, ...env, ARTIFACTS_PORT: String(artifactsPort), GATEWAY_PORT: String(gatewayPort), ARTIFACTS_URL: `http://127.0.0.1:${artifactsPort}` };
    const artifacts = spawnService('artifacts', childEnv);
    children.push(artifacts);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${artifactsPort}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'artifacts to be ready' });
    const gatewayProc = spawnService('gateway', childEnv);
    children.push(gatewayProc);
    const gateway = `http://127.0.0.1:${gatewayPort}`;
    await waitFor(async () => (await fetch(`${gateway}/readyz`).catch(() => null))?.ok, { timeoutMs: 30_000, what: 'gateway to be ready' });

    const login = await fetch(`${gateway}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@opsdesk.local', password: 'Bench-Passw0rd!x' }) });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const hostRes = await fetch(`${gateway}/api/hosts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ hostname: 'bench-host', ip: '10.200.0.1', environment: 'dev' }),
    });
    const hostId = ((await hostRes.json()) as { id: string }).id;
    if (!hostId) throw new Error(`host creation failed: ${hostRes.status}`);

    const rows: Array<Record<string, string | number>> = [];
    const results: Record<string, unknown> = { at: new Date().toISOString(), sizes_mb: [small, large] };
    for (const sizeMb of [small, large]) {
      const bytes = sizeMb * MB;
      const src = join(work, `src-${sizeMb}.bin`);
      const expected = await makeFile(src, bytes);

      // cp of the same file on the same disk, alone and with an fsync like the upload does
      const cpDest = join(work, `cp-${sizeMb}.bin`);
      const cp = await timed(() => new Promise<void>((res, rej) => spawn('cp', [src, cpDest]).on('exit', (c) => (c === 0 ? res() : rej(new Error(`cp ${c}`))))));
      const cpSync = await timed(async () => {
        rmSync(cpDest, { force: true });
        await copyFile(src, cpDest);
        await fsyncPath(cpDest);
      });
      rmSync(cpDest, { force: true });

      resetPeak(gatewayProc.pid!);
      resetPeak(artifacts.pid!);
      const up = await timed(() => upload(gateway, token, hostId, src, bytes));
      if (up.value.status !== 201) throw new Error(`upload ${sizeMb} MB: ${up.value.status} ${up.value.body}`);
      const art = JSON.parse(up.value.body) as { id: string; sha256: string };
      if (art.sha256 !== expected) throw new Error('uploaded sha256 differs');
      const upPeak = { gateway: procStatus(gatewayProc.pid!, 'VmHWM'), artifacts: procStatus(artifacts.pid!, 'VmHWM') };

      resetPeak(gatewayProc.pid!);
      resetPeak(artifacts.pid!);
      const dlDest = join(work, `dl-${sizeMb}.bin`);
      const dl = await timed(() => download(gateway, token, art.id, dlDest));
      if (dl.value.status !== 200 || dl.value.sha256 !== expected) throw new Error(`download ${sizeMb} MB: ${dl.value.status}, sha ${dl.value.sha256}`);
      const dlPeak = { gateway: procStatus(gatewayProc.pid!, 'VmHWM'), artifacts: procStatus(artifacts.pid!, 'VmHWM') };
      rmSync(dlDest, { force: true });
      rmSync(src, { force: true });

      const mbps = (s: number) => Math.round((sizeMb / s) * 10) / 10;
      const row = {
        size_mb: sizeMb,
        cp_mb_s: mbps(cp.seconds),
        cp_fsync_mb_s: mbps(cpSync.seconds),
        upload_mb_s: mbps(up.seconds),
        download_mb_s: mbps(dl.seconds),
        upload_vs_cp_pct: Math.round((cp.seconds / up.seconds) * 100),
        download_vs_cp_pct: Math.round((cp.seconds / dl.seconds) * 100),
        upload_peak_rss_gateway_mb: Math.round(upPeak.gateway),
        upload_peak_rss_artifacts_mb: Math.round(upPeak.artifacts),
        download_peak_rss_gateway_mb: Math.round(dlPeak.gateway),
        download_peak_rss_artifacts_mb: Math.round(dlPeak.artifacts),
      };
      rows.push(row);
      results[`size_${sizeMb}`] = row;
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
