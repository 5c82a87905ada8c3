import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Client } from 'pg';
import { createTestDatabase, type TestDatabase } from '@opsdesk/testing';
import { runMigrations, createServiceDataSource } from '@opsdesk/database';
import { ADMIN_EMAIL, ADMIN_PASSWORD, bearer, login, startStack, urlOf, waitFor, type Stack } from './support/stack';

// Services are loaded by path at run time, like support/stack.ts does (module boundaries forbid static imports).
const AUDIT_SRC = join(__dirname, '..', 'services', 'audit', 'src');
/* eslint-disable @typescript-eslint/no-require-imports */
const { recordHash } = require(join(AUDIT_SRC, 'chain', 'canonical')) as typeof import('../services/audit/src/chain/canonical');
const keys = require(join(AUDIT_SRC, 'chain', 'checkpoint-keys')) as typeof import('../services/audit/src/chain/checkpoint-keys');
const { runCli } = require(join(AUDIT_SRC, 'cli', 'audit-verify')) as typeof import('../services/audit/src/cli/audit-verify');
const { auditMigrations } = require(join(AUDIT_SRC, 'database', 'migrations')) as typeof import('../services/audit/src/database/migrations');
const { createDataSource } = require(join(AUDIT_SRC, 'database', 'data-source')) as typeof import('../services/audit/src/database/data-source');
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * The checkpoint key (issue 9): Ed25519, held by the audit service alone; its public half is served without a
 * login at GET /api/audit/public-key; a rotation keeps the old public key so older checkpoints still verify,
 * online and with the offline CLI; HMAC checkpoints from before are reported as legacy and never trusted.
 */
const EVERY = 3;
const A = keys.generateCheckpointKeyPair();
const B = keys.generateCheckpointKeyPair();

let stack: Stack;
let admin: { access: string };
let db: Client;
let dir: string;

beforeAll(async () => {
  stack = await startStack('auditkeys', {
    services: ['auth', 'audit'],
    env: { RATE_LIMIT_API_PER_MINUTE: '100000', AUDIT_CHECKPOINT_EVERY: String(EVERY), AUDIT_SIGNING_KEY: A.privateKey },
  });
  admin = await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  db = new Client({ connectionString: stack.db.url });
  await db.connect();
  dir = mkdtempSync(join(tmpdir(), 'opsdesk-audit-keys-'));
}, 120_000);

afterAll(async () => {
  await db?.end();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Logins are recorded (auth.login.succeeded): enough of them fill checkpoints, one every EVERY records. */
async function checkpointsBy(keyId: string, atLeast: number): Promise<void> {
  await waitFor(
    async () => {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM audit.checkpoints WHERE key_id = $1 AND alg = 'ed25519'`, [keyId]);
      if (rows[0].n >= atLeast) return true;
      await login(stack.url, ADMIN_EMAIL, ADMIN_PASSWORD);
      return false;
    },
    { timeoutMs: 30_000, what: `${atLeast} checkpoints signed by ${keyId}` },
  );
}

function download(path: string, file: string): Promise<number> {
  return new Promise((resolve, reject) => {
    httpGet(`${stack.url}${path}`, { headers: bearer(admin.access) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        writeFileSync(file, Buffer.concat(chunks));
        resolve(res.statusCode ?? 0);
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

async function cli(args: string[]): Promise<{ status: number; out: string }> {
  const lines: string[] = [];
  const status = await runCli(args, (l) => lines.push(l));
  return { status, out: lines.join('\n') };
}

/** Boots the audit service again on the same port (the gateway keeps its AUDIT_URL) with other keys. */
async function restartAudit(env: { AUDIT_SIGNING_KEY: string; AUDIT_PREVIOUS_PUBLIC_KEYS?: string }): Promise<void> {
  stack.env.AUDIT_PORT = new URL(urlOf(stack.apps.audit)).port;
  stack.env.AUDIT_SIGNING_KEY = env.AUDIT_SIGNING_KEY;
  if (env.AUDIT_PREVIOUS_PUBLIC_KEYS) stack.env.AUDIT_PREVIOUS_PUBLIC_KEYS = env.AUDIT_PREVIOUS_PUBLIC_KEYS;
  else delete stack.env.AUDIT_PREVIOUS_PUBLIC_KEYS;
  await stack.restart('audit');
}

describe('GET /api/audit/public-key', () => {
  it('serves the verification key with its id to anyone, without a login, and nothing private', async () => {
    const res = await request(stack.url).get('/api/audit/public-key').expect(200);
    expect(res.body).toEqual({
      keys: [{ key_id: A.keyId, alg: 'ed25519', public_key: A.publicKey, public_key_pem: expect.stringMatching(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/), current: true }],
    });
    expect(keys.checkpointKeyId(keys.parsePublicKey(res.body.keys[0].public_key_pem))).toBe(A.keyId);
    expect(res.text).not.toContain(A.privateKey);
    // a bearer token changes nothing; and the rest of /api/audit still needs one
    expect((await request(stack.url).get('/api/audit/public-key').set(bearer(admin.access)).expect(200)).body).toEqual(res.body);
    await request(stack.url).get('/api/audit/verify').expect(401);
  });
});

type Checkpoint = { seq: number; hash: string; created_at: string };
type Line = { kind: string; seq: number; hash: string; prev_hash: string; created_at: string; head_seq: number; head_hash: string; data: Record<string, unknown> };

/**
 * What an attacker without the private key can do to an export: edit record `bad`, recompute every hash after it
 * (and the header's head), and re-create every checkpoint from `bad` on with `recheckpoint` (null: drop it).
 */
function forge(text: string, bad: number, recheckpoint: (cp: Checkpoint) => object | null): string {
  const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
  const rehashed = new Map<number, string>();
  let prev: string | null = null;
  for (const r of lines) {
    if (r.kind !== 'record' || r.seq < bad) continue;
    if (r.seq === bad) r.data = { ...r.data, forged: true };
    r.prev_hash = prev ?? r.prev_hash;
    r.hash = recordHash(r.prev_hash, r as unknown as Parameters<typeof recordHash>[1]);
    rehashed.set(r.seq, r.hash);
    prev = r.hash;
  }
  const out: string[] = [];
  for (const l of lines) {
    if (l.kind === 'header') out.push(JSON.stringify({ ...l, head_hash: rehashed.get(l.head_seq) ?? l.head_hash }));
    else if (l.kind === 'checkpoint' && l.seq >= bad) {
      const cp = recheckpoint({ seq: l.seq, hash: rehashed.get(l.seq) ?? l.hash, created_at: l.created_at });
      if (cp) out.push(JSON.stringify({ kind: 'checkpoint', ...cp }));
    } else out.push(JSON.stringify(l));
  }
  return `${out.join('\n')}\n`;
}

describe('forged checkpoints, caught by the offline CLI with only the public key', () => {
  it('records edited and re-hashed, with checkpoints re-made by another key, as HMACs or dropped, fail at the first unvouched seq', async () => {
    await checkpointsBy(A.keyId, 3);
    const file = join(dir, 'genuine.jsonl');
    expect(await download('/api/audit/export.jsonl', file)).toBe(200);
    const keyFile = join(dir, 'published.json');
    writeFileSync(keyFile, (await request(stack.url).get('/api/audit/public-key')).text);
    expect(await cli([file, '--public-key', keyFile])).toMatchObject({ status: 0 });

    const text = readFileSync(file, 'utf8');
    const lines = text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
    const cps = lines.filter((l) => l.kind === 'checkpoint').map((l) => l.seq);
    const head = lines[0].head_seq;
    // an edit between two checkpoints: what the signatures still vouch for ends at the one before it
    const bad = cps[1] + 2;
    expect(bad).toBeLessThanOrEqual(head);
    const lastGenuine = Math.max(...cps.filter((s) => s < bad));

    const attacker = keys.generateCheckpointKeyPair();
    const attackerKey = keys.parseSigningKey(attacker.privateKey);
    const sign = (cp: Checkpoint, keyId: string) => ({ ...cp, key_id: keyId, alg: 'ed25519', signature: keys.signCheckpoint(attackerKey, { ...cp, key_id: keyId }) });
    const variants: Record<string, (cp: Checkpoint) => object | null> = {
      // signed with the attacker's own Ed25519 key, under its own key id ...
      'own key': (cp) => sign(cp, attacker.keyId),
      // ... or under the genuine key id
      'genuine key id': (cp) => sign(cp, A.keyId),
      // an HMAC as checkpoints were before (whoever could verify one could make one), with the old dev derivation's kind of key
      hmac: (cp) => ({ ...cp, key_id: 'dev', alg: 'hmac-sha256', signature: createHmac('sha256', stack.env.JWT_SECRET!).update(JSON.stringify(cp)).digest('hex') }),
      // or no checkpoints after the edit at all
      dropped: () => null,
    };
    for (const [name, recheckpoint] of Object.entries(variants)) {
      const forged = join(dir, `forged-${name.replace(/ /g, '-')}.jsonl`);
      writeFileSync(forged, forge(text, bad, recheckpoint));
      // the hashes alone are consistent again, and the CLI says it checked nothing else
      expect({ name, hashesOnly: await cli([forged, '--no-signatures']) }).toEqual({ name, hashesOnly: { status: 0, out: expect.stringContaining('NOT checked (--no-signatures)') } });
      const res = await cli([forged, '--public-key', keyFile]);
      expect({ name, res }).toEqual({ name, res: { status: 1, out: expect.stringContaining(`FAILED: first bad seq ${lastGenuine + 1}`) } });
    }
    // no key and no --no-signatures: a usage error, never a silent pass
    expect(await cli([file])).toMatchObject({ status: 2, out: expect.stringContaining('usage: audit-verify') });
  });
});

describe('rotation', () => {
  let beforeRotation: string;

  it('checkpoints are Ed25519-signed with the current key, and a full export verifies with the published key alone', async () => {
    await checkpointsBy(A.keyId, 2);
    const { rows } = await db.query(`SELECT seq, hash, created_at, key_id, signature, alg FROM audit.checkpoints ORDER BY seq`);
    const publicKey = keys.parsePublicKey(A.publicKey);
    for (const r of rows) {
      const cp = { seq: Number(r.seq), hash: r.hash as string, created_at: (r.created_at as Date).toISOString(), key_id: r.key_id as string };
      expect({ seq: cp.seq, alg: r.alg, valid: keys.checkpointSignatureValid(publicKey, { ...cp, signature: r.signature }) }).toEqual({ seq: cp.seq, alg: 'ed25519', valid: true });
    }
    beforeRotation = join(dir, 'before-rotation.jsonl');
    expect(await download('/api/audit/export.jsonl', beforeRotation)).toBe(200);
    const keyFile = join(dir, 'key-a.json');
    writeFileSync(keyFile, (await request(stack.url).get('/api/audit/public-key')).text);
    expect(await cli([beforeRotation, '--public-key', keyFile])).toMatchObject({ status: 0, out: expect.stringContaining('OK: the chain is intact') });
  });

  it('after a rotation the old checkpoints still verify (online and offline) while the old public key is kept', async () => {
    await restartAudit({ AUDIT_SIGNING_KEY: B.privateKey, AUDIT_PREVIOUS_PUBLIC_KEYS: A.publicKey });
    const published = await request(stack.url).get('/api/audit/public-key').expect(200);
    expect(published.body.keys.map((k: { key_id: string; current: boolean }) => [k.key_id, k.current])).toEqual([
      [B.keyId, true],
      [A.keyId, false],
    ]);
    await checkpointsBy(B.keyId, 2);

    const { rows } = await db.query(`SELECT key_id, count(*)::int AS n FROM audit.checkpoints GROUP BY key_id`);
    const byKey = Object.fromEntries(rows.map((r) => [r.key_id, r.n])) as Record<string, number>;
    expect(byKey[A.keyId]).toBeGreaterThanOrEqual(2);
    expect(byKey[B.keyId]).toBeGreaterThanOrEqual(2);
    const total = byKey[A.keyId] + byKey[B.keyId];

    const online = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200);
    expect(online.body).toMatchObject({ ok: true, checkpoints_ok: true, checkpoints_legacy: 0 });
    expect(online.body.checkpoints_trusted).toBe(online.body.checkpoints_checked);
    expect(online.body.checkpoints_trusted).toBeGreaterThanOrEqual(total);

    const both = join(dir, 'keys-a-b.json');
    writeFileSync(both, published.text);
    const after = join(dir, 'after-rotation.jsonl');
    expect(await download('/api/audit/export.jsonl', after)).toBe(200);
    const header = JSON.parse(readFileSync(after, 'utf8').split('\n')[0]) as { head_seq: number; key_id: string };
    expect(header.key_id).toBe(B.keyId);
    const res = await cli([after, '--public-key', both]);
    expect(res).toMatchObject({ status: 0, out: expect.stringContaining(`records up to seq ${header.head_seq} are vouched for by a signature`) });
    // the export from before the rotation too, with the keys published now
    expect(await cli([beforeRotation, '--public-key', both])).toMatchObject({ status: 0 });
    // --public-key also takes the endpoint's URL (fetched; pin a saved copy where the server itself is in doubt)
    expect(await cli([beforeRotation, '--public-key', `${stack.url}/api/audit/public-key`])).toMatchObject({ status: 0 });

    // the new public key alone does not vouch for what the old one signed
    const onlyB = join(dir, 'key-b.pem');
    writeFileSync(onlyB, published.body.keys[0].public_key_pem);
    const without = await cli([after, '--public-key', onlyB]);
    expect(without.status).toBe(1);
    expect(without.out).toContain(`signed with an unknown key (${A.keyId})`);
    // the same key given twice (file + base64) is fine; keys are matched by id
    const aB64 = join(dir, 'key-a.b64');
    writeFileSync(aB64, `${A.publicKey}\n`);
    expect(await cli([after, '--public-key', onlyB, '--public-key', aB64])).toMatchObject({ status: 0 });
  });

  it('dropping the old public key from the service makes its old checkpoints unverifiable online, so it must be kept', async () => {
    await restartAudit({ AUDIT_SIGNING_KEY: B.privateKey });
    const res = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200);
    expect(res.body).toMatchObject({ ok: false, checkpoints_ok: false });
    expect(res.body.problems.join('\n')).toContain(`signed with an unknown key (${A.keyId})`);
    await restartAudit({ AUDIT_SIGNING_KEY: B.privateKey, AUDIT_PREVIOUS_PUBLIC_KEYS: A.publicKey });
    expect((await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200)).body.ok).toBe(true);
  });
});

describe('legacy HMAC checkpoints (before Ed25519)', () => {
  let legacyDb: TestDatabase;
  afterAll(async () => legacyDb?.drop());

  it('the migration marks existing checkpoints hmac-sha256 without an UPDATE; new rows must name their algorithm', async () => {
    legacyDb = await createTestDatabase('auditlegacy');
    // the schema as it was before the Ed25519 migration, with an HMAC checkpoint in it
    const [messaging, init] = auditMigrations;
    const old = createServiceDataSource({ url: legacyDb.url, schema: 'audit', entities: [], migrations: [messaging, init], poolSize: 5, maxOverflow: 0 });
    await runMigrations(old);
    const c = new Client({ connectionString: legacyDb.url });
    await c.connect();
    try {
      await c.query(`INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature) VALUES (1, repeat('a', 64), now(), 'dev-hmac', repeat('b', 64))`);
      await runMigrations(createDataSource(legacyDb.url));
      expect((await c.query(`SELECT seq::int, alg FROM audit.checkpoints`)).rows).toEqual([{ seq: 1, alg: 'hmac-sha256' }]);
      // every new row has to name its algorithm
      await expect(c.query(`INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature) VALUES (2, 'x', now(), 'k', 's')`)).rejects.toThrow(/alg/);
      await expect(c.query(`INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature, alg) VALUES (2, 'x', now(), 'k', 's', 'none')`)).rejects.toThrow(/checkpoints_alg_check/);
    } finally {
      await c.end();
    }
  });

  it('a legacy checkpoint in the live trail is counted and reported, never trusted, and does not make verify fail', async () => {
    // as the schema owner (the service's role could not): an HMAC checkpoint at a record that has none
    const { rows } = await db.query(
      `INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature, alg)
       SELECT seq, hash, now(), 'dev-hmac', repeat('b', 64), 'hmac-sha256' FROM audit.records
        WHERE seq NOT IN (SELECT seq FROM audit.checkpoints) ORDER BY seq LIMIT 1 RETURNING seq::int`,
    );
    expect(rows).toHaveLength(1);
    const res = await request(stack.url).get('/api/audit/verify').set(bearer(admin.access)).expect(200);
    expect(res.body).toMatchObject({ ok: true, checkpoints_legacy: 1 });
    expect(res.body.checkpoints_trusted).toBe(res.body.checkpoints_checked - 1);
  });
});
