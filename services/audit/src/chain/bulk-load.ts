import { createPublicKey, randomUUID } from 'node:crypto';
import type { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { recordHash, type ChainedRecord, type RecordBody } from './canonical';
import { CHECKPOINT_ALG, checkpointKeyId, parseSigningKey, signCheckpoint } from './checkpoint-keys';
import { RECORD_COLUMNS } from './record-row';

export interface BulkLoadOptions {
  count: number;
  /** makes the n-th synthetic record (0-based); seq, recorded_at and hashes are filled in */
  make?: (n: number) => Omit<RecordBody, 'seq' | 'recorded_at'>;
  /** AUDIT_SIGNING_KEY (base64 PKCS#8 DER Ed25519): checkpoints are signed like the service signs them */
  signingKey: string;
  checkpointEvery: number;
}

const csv = (v: string | null) => (v === null ? '' : `"${v.replace(/"/g, '""')}"`);

export function syntheticRecord(n: number): Omit<RecordBody, 'seq' | 'recorded_at'> {
  const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
  const actions = ['inventory.host.updated', 'inventory.host.created', 'auth.login.succeeded', 'artifacts.artifact.downloaded', 'inventory.host.access_issued'];
  const u = users[n % users.length];
  return {
    event_id: randomUUID(),
    type: actions[n % actions.length],
    source: 'bulk',
    occurred_at: new Date(Date.UTC(2024, 0, 1) + n * 1000).toISOString(),
    actor: { user_id: `00000000-0000-4000-8000-00000000000${n % users.length}`, email: `${u}@example.com`, ip: `10.0.${n % 250}.${n % 200}`, user_agent: 'bulk-loader/1' },
    entity_type: 'host',
    entity_id: `host-${n % 50_000}`,
    request_id: `req-${n}`,
    trace_id: null,
    data: { before: { owner: `team-${n % 7}` }, after: { owner: `team-${(n + 1) % 7}` }, note: n % 97 === 0 ? '=HYPERLINK("http://x")' : `change ${n}` },
  };
}

/**
 * Appends `count` chained records in one transaction with COPY (tests and benchmarks that need a large
 * trail; also the shape of a one-off import of a legacy trail). Connects as the schema owner: INSERT is
 * all it does on the append-only tables. Holds the chain_head lock, so it is serialised with the recorder.
 */
export async function bulkAppend(client: Client, opts: BulkLoadOptions): Promise<{ first_seq: number; last_seq: number; last_hash: string }> {
  const make = opts.make ?? syntheticRecord;
  const key = parseSigningKey(opts.signingKey);
  const keyId = checkpointKeyId(createPublicKey(key));
  await client.query('BEGIN');
  try {
    const { rows } = await client.query<{ seq: string; hash: string }>(`SELECT seq, hash FROM audit.chain_head WHERE id = 1 FOR UPDATE`);
    let seq = Number(rows[0].seq);
    let prev = rows[0].hash;
    const first = seq + 1;
    const checkpoints: Array<{ seq: number; hash: string }> = [];
    const copy = client.query(copyFrom(`COPY audit.records (${RECORD_COLUMNS}) FROM STDIN WITH (FORMAT csv)`));
    const done = new Promise<void>((resolve, reject) => {
      copy.on('finish', resolve);
      copy.on('error', reject);
    });
    let buf = '';
    for (let n = 0; n < opts.count; n++) {
      seq++;
      const body: RecordBody = { ...make(n), seq, recorded_at: new Date().toISOString() };
      const r: ChainedRecord = { ...body, prev_hash: prev, hash: recordHash(prev, body) };
      prev = r.hash;
      if (seq % opts.checkpointEvery === 0) checkpoints.push({ seq, hash: r.hash });
      buf += [
        String(r.seq), r.event_id, csv(r.type), csv(r.source), r.occurred_at, r.recorded_at, csv(r.actor ? JSON.stringify(r.actor) : null),
        csv(r.entity_type), csv(r.entity_id), csv(r.request_id), csv(r.trace_id), csv(JSON.stringify(r.data)), r.prev_hash, r.hash,
      ].join(',') + '\n';
      if (buf.length > 256 * 1024) {
        if (!copy.write(buf)) await new Promise((res) => copy.once('drain', res));
        buf = '';
      }
    }
    copy.end(buf);
    await done;
    for (const cp of checkpoints) {
      const created_at = new Date().toISOString();
      await client.query(`INSERT INTO audit.checkpoints (seq, hash, created_at, key_id, signature, alg) VALUES ($1, $2, $3, $4, $5, $6)`, [
        cp.seq, cp.hash, created_at, keyId, signCheckpoint(key, { seq: cp.seq, hash: cp.hash, created_at, key_id: keyId }), CHECKPOINT_ALG,
      ]);
    }
    if (opts.count > 0) await client.query(`UPDATE audit.chain_head SET seq = $1, hash = $2, updated_at = now() WHERE id = 1`, [seq, prev]);
    await client.query('COMMIT');
    return { first_seq: first, last_seq: seq, last_hash: prev };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
