import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { join } from 'node:path';
import request from 'supertest';
import { Client } from 'pg';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, login, startStack, waitFor, type Stack } from './support/stack';

// Services are loaded by path at run time, like support/stack.ts does (module boundaries forbid static imports).
const AUDIT_SRC = join(__dirname, '..', 'services', 'audit', 'src');
/* eslint-disable @typescript-eslint/no-require-imports */
const { bulkAppend } = require(join(AUDIT_SRC, 'chain', 'bulk-load')) as typeof import('../services/audit/src/chain/bulk-load');
const keys = require(join(AUDIT_SRC, 'chain', 'checkpoint-keys')) as typeof import('../services/audit/src/chain/checkpoint-keys');
const { runCli, verifyExportFile } = require(join(AUDIT_SRC, 'cli', 'audit-verify')) as typeof import('../services/audit/src/cli/audit-verify');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * Integrity of the trail: streamed exports (100k records, flat memory, formulas neutralised, the export
 * itself audited), append-only enforcement in PostgreSQL, and tamper detection online (/api/audit/verify)
 * and offline (the CLI on a JSONL export, given only the published public key), including a truncated tail
 * caught by signed checkpoints and checkpoints forged without the private key.
 */
const SIGNING = keys.generateCheckpointKeyPair();
const CHECKPOINT_EVERY = 1000;
const BULK = 100_000;

let stack: Stack;
let admin: { access: string };
let db: Client;
let dir: string;
/** GET /api/audit/public-key, fetched without a login and saved: all the offline verifier gets */
let publicKeyFile: string;

beforeAll(async () => {
  stack = await startStack('auditint', {
    services: ['auth', 'audit'],
    env: { RATE_LIMIT_API_PER_MINUTE: '100000', AUDIT_CHECKPOINT_EVERY: String(CHECKPOINT_EVERY), AUDIT_SIGNING_KEY: SIGNING.privateKey },
  });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  db = new Client({ connectionString: stack.db.url });
  await db.connect();
  dir = mkdtempSync(join(tmpdir(), 'opsdesk-audit-'));
  // the seeded admin and the login are recorded through JetStream first, then a large trail is appended
  await waitFor(async () => (await db.query(`SELECT count(*)::int AS n FROM audit.records WHERE type = 'auth.login.succeeded'`)).rows[0].n >= 1, {
    timeoutMs: 15_000,
    what: 'the first login to be recorded',
  });
  await bulkAppend(db, {
    count: BULK,
    signingKey: SIGNING.privateKey,
    checkpointEvery: CHECKPOINT_EVERY,
    make: (n) => ({
      event_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
      type: 'inventory.host.updated',
      source: 'inventory',
      occurred_at: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
      actor: { user_id: null, email: 'ops@example.com', ip: '10.0.0.1', user_agent: 'bulk' },
      entity_type: 'host',
      entity_id: n % 1000 === 0 ? '=HYPERLINK("http://evil")' : `host-${n}`,
      request_id: `bulk-${n}`,
      trace_id: null,
      data: { before: { owner: '+team-a' }, after: { owner: '@team-b' }, padding: 'x'.repeat(200) },
    }),
  });
}, 180_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// A real GC handle, so heap samples measure live data rather than garbage not yet collected.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/**
 * Downloads through the gateway with plain http, counting bytes (optionally saving). Without saving, it
 * samples the live heap (after a forced GC) every ~4 MB received: gateway, service and client all run in
 * this process, so anything holding the whole result would show up here.
 */
function download(path: string, save?: string): Promise<{ status: number; headers: Record<string, unknown>; bytes: number; peakHeapGrowth: number }> {
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let nextSample = 0;
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    httpGet(`${stack.url}${path}`, { headers: bearer(admin.access) }, (res) => {
      let bytes = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        if (save) chunks.push(c);
        else if (bytes >= nextSample) {
          nextSample = bytes + 4 * 1024 * 1024;
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed - base);
        }
      });
      res.on('end', () => {
        if (save) writeFileSync(save, Buffer.concat(chunks));
        resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes, peakHeapGrowth: peak });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

describe('streamed exports', () => {
  it('exports 100k+ records as JSONL in chunks with flat memory, and the export is itself audited', async () => {
    const res = await download('/api/audit/export.jsonl');
    expect(res.status).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    expect(res.bytes).toBeGreaterThan(BULK * 400);
    // the file is > 40 MB; streaming keeps the live heap to a few batches and socket buffers (loose bound)
    expect(res.peakHeapGrowth).toBeLessThan(res.bytes / 4);
    await waitFor(async () => {
      const page = await request(stack.url).get('/api/audit').query({ action: 'audit.audit.exported' }).set(bearer(admin.access));
      return page.body.items?.some((i: { actor: { email: string }; data: { format: string } }) => i.actor.email === ADMIN_EMAIL && i.data.format === 'jsonl');
    }, { timeoutMs: 15_000, what: 'audit.audit.exported in the trail' });
  }, 180_000); // > 40 MB through gateway, service and client in one process, with a forced GC every 4 MB

  it('CSV export uses the same filters and neutralises formula cells', async () => {
    const res = await request(stack.url).get('/api/audit/export.csv').query({ entity_id: '=HYPERLINK("http://evil")' }).set(bearer(admin.access)).buffer(true);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/csv/);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toMatch(/^seq,event_id,type,/);
    expect(lines).toHaveLength(1 + BULK / 1000);
    for (const line of lines.slice(1)) {
      expect(line).toContain(`"'=HYPERLINK(""http://evil"")"`);
      expect(line).not.toMatch(/(^|,)[=+\-@]/);
    }
    await request(stack.url).get('/api/audit/export.csv').query({ from: 'yesterday' }).set(bearer(admin.access)).expect(400);
  });

  it('refuses the internal export route without a gateway token', async () => {
    await request(`http://127.0.0.1:${(stack.apps.audit.getHttpServer().address() as { port: number }).port}`).get('/internal/audit/export.jsonl').expect(401);
  });
});

describe('append-only and tamper evidence', () => {
  let exportFile: string;

  it('the runtime login cannot UPDATE, DELETE or TRUNCATE; even the owner is stopped by the trigger', async () => {
    // the audit service's own login (what the running service connects with), not a role switch
    const runtime = new Client({ connectionString: stack.logins.urls.audit });
    await runtime.connect();
    const asRole = async (sql: string) => {
      await runtime.query('BEGIN');
      try {
        await runtime.query(sql);
        return null;
      } catch (err) {
        return (err as Error).message;
      } finally {
        await runtime.query('ROLLBACK');
      }
    };
    expect(await asRole(`UPDATE audit.records SET type = 'x' WHERE seq = 1`)).toMatch(/permission denied/);
    expect(await asRole(`DELETE FROM audit.records WHERE seq = 1`)).toMatch(/permission denied/);
    expect(await asRole(`TRUNCATE audit.records`)).toMatch(/permission denied/);
    expect(await asRole(`DELETE FROM audit.checkpoints`)).toMatch(/permission denied/);
    expect(await asRole(`SELECT count(*) FROM audit.records`)).toBeNull();
    await runtime.end();
    await expect(db.query(`UPDATE audit.records SET type = 'x' WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM audit.records WHERE seq = 1`)).rejects.toThrow(/append-only/);
    await expect(db.query(`TRUNCATE audit.checkpoints`)).rejects.toThrow(/append-only/);
  });

  it('verify is ok on the intact chain; the offline CLI agrees on a full export', async () => {
    const res = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200);
    expect(res.body).toMatchObject({ ok: true, checkpoints_ok: true });
    expect(res.body.checked).toBeGreaterThan(BULK);
    expect(res.body.checked).toBe(res.body.head_seq);
    expect(res.body.checkpoints_checked).toBeGreaterThanOrEqual(BULK / CHECKPOINT_EVERY);
    exportFile = join(dir, 'audit.jsonl');
    const dl = await download('/api/audit/export.jsonl', exportFile);
    expect(dl.status).toBe(200);
    const out: string[] = [];
    publicKeyFile = join(dir, 'public-key.json');
    const published = await request(stack.url).get('/api/audit/public-key').expect(200);
    writeFileSync(publicKeyFile, published.text);
    expect(await runCli([exportFile, '--public-key', publicKeyFile], (l) => out.push(l))).toBe(0);
    expect(out.join('\n')).toMatch(/OK/);
    // the export ends on a checkpoint of its head signed when it was written: every record is vouched for
    const text = readFileSync(exportFile, 'utf8');
    const header = JSON.parse(text.slice(0, text.indexOf('\n'))) as { head_seq: number };
    expect(header.head_seq).toBeGreaterThanOrEqual(res.body.head_seq);
    expect(out.join('\n')).toContain(`records up to seq ${header.head_seq} are vouched for by a signature`);
  }, 180_000);

  it('one verification at a time across replicas: while one runs, others get 429 AUDIT.VERIFY_BUSY with Retry-After', async () => {
    // Another audit replica's verification holds the cluster-wide advisory lock (verify.service.ts); take it here the
    // same way so the overlap is certain instead of a race against a fast scan.
    const other = new Client({ connectionString: stack.db.url });
    await other.connect();
    try {
      const [{ ok }] = (await other.query(`SELECT pg_try_advisory_lock('5786644318815881561'::bigint) AS ok`)).rows as Array<{ ok: boolean }>;
      expect(ok).toBe(true);
      const busy = await Promise.all([1, 2, 3].map(() => request(stack.url).get('/api/audit/verify').set(bearer(admin.access))));
      for (const r of busy) {
        expect(r.status).toBe(429);
        expect(r.body.code).toBe('AUDIT.VERIFY_BUSY');
        expect(Number(r.headers['retry-after'])).toBeGreaterThan(0);
      }
      // a bounded range is refused too while the whole-chain run holds the lock (it would compete for the same reads)
      expect((await request(stack.url).get('/api/audit/verify').query({ from_seq: 1, to_seq: 10 }).set(bearer(admin.access))).status).toBe(429);
      await other.query(`SELECT pg_advisory_unlock('5786644318815881561'::bigint)`);
    } finally {
      await other.end();
    }
    // released: the next verification runs
    expect((await request(stack.url).get('/api/audit/verify').query({ from_seq: 1, to_seq: 10 }).set(bearer(admin.access)).expect(200)).body).toMatchObject({ ok: true, checked: 10 });
    // several whole-chain verifications sent at once (each scans > 100k records): one runs, the others run after it
    // or are refused as busy — never an error and never a wrong answer
    const together = await Promise.all([1, 2, 3, 4].map(() => request(stack.url).get('/api/audit/verify').set(bearer(admin.access))));
    const statuses = together.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(together.filter((r) => r.status === 200).every((r) => r.body.ok === true)).toBe(true);
  }, 180_000);

  it('a superuser change is caught online and offline with the first bad seq', async () => {
    const bad = 5000;
    // offline: the same record edited in the export file
    const edited = join(dir, 'edited.jsonl');
    const lines = readFileSync(exportFile, 'utf8').split('\n');
    const i = lines.findIndex((l) => l.startsWith('{"kind":"record","seq":' + bad + ','));
    expect(i).toBeGreaterThan(0);
    lines[i] = lines[i].replace('"owner":"@team-b"', '"owner":"@team-c"');
    writeFileSync(edited, lines.join('\n'));
    const out: string[] = [];
    expect(await runCli([edited, '--public-key', publicKeyFile], (l) => out.push(l))).toBe(1);
    expect(out.join('\n')).toContain(`first bad seq ${bad}`);
    // another public key: none of the signatures is accepted
    const other = keys.parsePublicKey(keys.generateCheckpointKeyPair().publicKey);
    expect(await verifyExportFile(exportFile, { publicKeys: [other] })).toMatchObject({ ok: false, checkpoints_ok: false, checkpoints_trusted: 0 });

    // online: bypass the trigger as superuser and change the row
    await db.query('BEGIN');
    await db.query('SET LOCAL session_replication_role = replica');
    await db.query(`UPDATE audit.records SET data = jsonb_set(data, '{after,owner}', '"@team-c"') WHERE seq = $1`, [bad]);
    await db.query('COMMIT');
    const res = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200);
    expect(res.body).toMatchObject({ ok: false, first_bad_seq: bad });
    const ranged = await request(stack.url).get('/api/audit/verify').query({ from_seq: 1, to_seq: bad - 1 }).set(bearer(admin.access)).expect(200);
    expect(ranged.body.ok).toBe(true);

    // restore it, so the next test sees only its own damage
    await db.query('BEGIN');
    await db.query('SET LOCAL session_replication_role = replica');
    await db.query(`UPDATE audit.records SET data = jsonb_set(data, '{after,owner}', '"@team-b"') WHERE seq = $1`, [bad]);
    await db.query('COMMIT');
    expect((await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200)).body.ok).toBe(true);
  }, 180_000);

  it('deleting the last records (and rewinding the head) is caught by the signed checkpoints', async () => {
    const [{ seq: lastCp }] = (await db.query(`SELECT max(seq)::int AS seq FROM audit.checkpoints`)).rows;
    const cut = lastCp - 10;
    await db.query('BEGIN');
    await db.query('SET LOCAL session_replication_role = replica');
    await db.query(`DELETE FROM audit.records WHERE seq > $1`, [cut]);
    await db.query(`UPDATE audit.chain_head SET seq = r.seq, hash = r.hash FROM audit.records r WHERE r.seq = $1`, [cut]);
    await db.query('COMMIT');
    const res = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200);
    expect(res.body).toMatchObject({ ok: false, checkpoints_ok: false, first_bad_seq: cut + 1, head_seq: cut });
    // the truncated trail exported: the CLI sees the checkpoint beyond the end
    const truncated = join(dir, 'truncated.jsonl');
    await download('/api/audit/export.jsonl', truncated);
    const result = await verifyExportFile(truncated, { publicKeys: keys.parsePublicKeyDocument(readFileSync(publicKeyFile, 'utf8')) });
    expect(result).toMatchObject({ ok: false, first_bad_seq: cut + 1, checkpoints_ok: false });
  }, 180_000);
});
