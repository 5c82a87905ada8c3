import { GENESIS_HASH, checkpointSignature, recordHash, signingKeyId, type ChainedRecord, type RecordBody } from './canonical';
import { ChainVerifier } from './chain-verifier';

const key = Buffer.from('k'.repeat(32));

function chain(n: number): ChainedRecord[] {
  const out: ChainedRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body: RecordBody = {
      seq, event_id: `e${seq}`, type: 't.x', source: 's', occurred_at: 'o', recorded_at: 'r', actor: null,
      entity_type: 'e', entity_id: null, request_id: null, trace_id: null, data: { seq },
    };
    const hash = recordHash(prev, body);
    out.push({ ...body, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

const cpOf = (r: ChainedRecord) => {
  const cp = { seq: r.seq, hash: r.hash, created_at: 'c' };
  return { ...cp, key_id: signingKeyId(key), signature: checkpointSignature(key, cp) };
};

function run(records: ChainedRecord[], opts: Partial<ConstructorParameters<typeof ChainVerifier>[0]> = {}, head?: { seq: number; hash: string }) {
  const v = new ChainVerifier({ key, contiguous: true, toHead: true, ...opts });
  for (const r of records) v.add(r);
  return v.finish(head);
}

describe('ChainVerifier', () => {
  it('accepts an intact chain with valid checkpoints', () => {
    const c = chain(10);
    const out = run(c, { checkpoints: [cpOf(c[4]), cpOf(c[9])] }, { seq: 10, hash: c[9].hash });
    expect(out).toMatchObject({ ok: true, checked: 10, checkpoints_ok: true, checkpoints_checked: 2 });
    expect(out.first_bad_seq).toBeUndefined();
  });

  it('names the edited record', () => {
    const c = chain(10);
    c[6] = { ...c[6], data: { seq: 999 } };
    expect(run(c)).toMatchObject({ ok: false, first_bad_seq: 7 });
  });

  it('names the record after one that was edited and re-hashed', () => {
    const c = chain(10);
    const edited = { ...c[3], data: { x: 1 } };
    c[3] = { ...edited, hash: recordHash(edited.prev_hash, edited) };
    expect(run(c)).toMatchObject({ ok: false, first_bad_seq: 5 });
  });

  it('finds a removed record and a truncated tail (checkpoint beyond the end)', () => {
    const c = chain(10);
    expect(run([...c.slice(0, 4), ...c.slice(5)])).toMatchObject({ ok: false, first_bad_seq: 5 });
    const out = run(c.slice(0, 7), { checkpoints: [cpOf(c[4]), cpOf(c[9])] });
    expect(out).toMatchObject({ ok: false, first_bad_seq: 8, checkpoints_ok: false });
    expect(run(c.slice(0, 7), {}, { seq: 10, hash: c[9].hash })).toMatchObject({ ok: false, first_bad_seq: 8 });
  });

  it('refuses a forged checkpoint signature', () => {
    const c = chain(5);
    expect(run(c, { checkpoints: [{ ...cpOf(c[4]), signature: '00'.repeat(32) }] })).toMatchObject({ ok: false, checkpoints_ok: false });
  });

  it('checks filtered (non-contiguous) records on their own and links neighbours', () => {
    const c = chain(10);
    expect(run([c[1], c[2], c[7]], { contiguous: false, toHead: false })).toMatchObject({ ok: true, checked: 3 });
  });
});
