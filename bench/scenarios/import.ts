/**
 * import: CSV import of BENCH_IMPORT_ROWS hosts (default 100 000) through the gateway (streamed to inventory's
 * internal port, validated, COPY into a temp table, classified, INSERT … SELECT with revisions and events)
 * against `psql \copy` of the same file into the same table (same indexes and triggers), in the same round.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { figure } from '../lib/stats';
import { startSystem } from '../lib/system';
import type { Row, Scenario } from '../lib/scenario';

const ENVS = ['prod', 'stage', 'dev'];
const OSES = ['linux', 'linux', 'linux', 'windows', 'macos'];
const CRITS = ['critical', 'high', 'medium', 'low'];
const TEAMS = ['payments', 'platform', 'web', 'data', 'corp-it', 'search', 'ml', 'edge'];
const ROLES = ['api', 'db', 'web', 'cache', 'worker', 'kafka', 'k8s', 'build'];

function csvFile(dir: string, rows: number): string {
  const file = join(dir, 'hosts.csv');
  // tags in Postgres array syntax so the same file loads with \copy; the importer accepts { } as separators
  const lines = ['hostname,fqdn,ip,os,environment,owner,team,criticality,tags,notes'];
  for (let i = 0; i < rows; i++) {
    const role = ROLES[i % ROLES.length];
    const team = TEAMS[(i >> 3) % TEAMS.length];
    const h = `${role}-${i.toString(36)}-${((i * 2654435761) >>> 0).toString(36).slice(0, 4)}`;
    lines.push(
      [h, `${h}.example.internal`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, OSES[i % OSES.length], ENVS[i % ENVS.length], `${team}@example.com`, team, CRITS[i % CRITS.length], `"{${role},${team},site-${i % 5}}"`, i % 10 === 0 ? `"note ${i}, rack ${i % 97}"` : ''].join(','),
    );
  }
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function upload(url: string, token: string, file: string): Promise<{ status: number; body: string }> {
  const size = statSync(file).size;
  return new Promise((resolve, reject) => {
    const u = new URL('/api/hosts/import?report=errors&atomic=true', url);
    const req = request(u, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'text/csv', 'content-length': String(size) } }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    createReadStream(file).pipe(req);
  });
}

export const importScenario: Scenario = {
  name: 'import',
  summary: 'CSV import through the gateway vs psql \\copy of the same file',
  async run(ctx) {
    const rows = Number(process.env.BENCH_IMPORT_ROWS ?? (ctx.quick ? 10_000 : 100_000));
    const sys = await startSystem({
      services: ['auth', 'inventory', 'gateway'],
      cpuProfDir: ctx.cpuProfDir,
      label: 'benchimport',
      env: { IMPORT_MAX_ROWS: String(Math.max(rows, 1)), IMPORT_MAX_BYTES: String(2 * 1024 * 1024 * 1024 - 1) },
    });
    const dir = mkdtempSync(join(tmpdir(), 'opsdesk-bench-import-'));
    const pg = new Client({ connectionString: sys.db.url });
    await pg.connect();
    try {
      const file = csvFile(dir, rows);
      const rounds: Array<{ copy_s: number; import_s: number }> = [];
      for (let r = 0; r < ctx.rounds; r++) {
        let t = process.hrtime.bigint();
        execFileSync('psql', [sys.db.url, '-v', 'ON_ERROR_STOP=1', '-qc', `\\copy inventory.hosts (hostname, fqdn, ip, os, environment, owner, team, criticality, tags, notes) FROM '${file}' CSV HEADER`]);
        const copy = Number(process.hrtime.bigint() - t) / 1e9;
        await pg.query('TRUNCATE inventory.hosts CASCADE');
        await pg.query('VACUUM ANALYZE inventory.hosts');
        t = process.hrtime.bigint();
        const res = await upload(sys.url, sys.token, file);
        const imp = Number(process.hrtime.bigint() - t) / 1e9;
        const report = JSON.parse(res.body) as { summary?: { created?: number } };
        if (res.status !== 200 || report.summary?.created !== rows) throw new Error(`import: ${res.status} ${res.body.slice(0, 300)}`);
        await pg.query('TRUNCATE inventory.hosts CASCADE');
        await pg.query('VACUUM ANALYZE inventory.hosts');
        rounds.push({ copy_s: copy, import_s: imp });
        ctx.log(`round ${r + 1}: import ${imp.toFixed(2)} s (${Math.round(rows / imp)} rows/s) vs \\copy ${copy.toFixed(2)} s = ${(imp / copy).toFixed(2)}×`);
      }
      const out: Row[] = [
        { figure: `CSV import of ${rows} hosts`, unit: 's', system: figure(rounds.map((r) => r.import_s)), baseline: figure(rounds.map((r) => r.copy_s)), baseline_label: 'psql \\copy', ratio: figure(rounds.map((r) => r.import_s / r.copy_s)), ratio_label: '× \\copy', goal: '≤ 2× \\copy' },
      ];
      return { rows: out, detail: { rows, bytes: statSync(file).size, rounds } };
    } finally {
      await pg.end().catch(() => undefined);
      await sys.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
