import { createHmac } from 'node:crypto';
import { GENESIS_HASH, recordHash, type ChainedRecord, type RecordBody } from './canonical';
import { ChainVerifier, type VerifierCheckpoint } from './chain-verifier';
import { checkpointMessage, generateCheckpointKeyPair, parsePublicKey, parseSigningKey, signCheckpoint } from './checkpoint-keys';

const keyPair = (() => {
  const p = generateCheckpointKeyPair();
  return { id: p.keyId, privateKey: parseSigningKey(p.privateKey), publicKey: parsePublicKey(p.publicKey) };
})();
type Pair = typeof keyPair;
const newPair = (): Pair => {
  const p = generateCheckpointKeyPair();
  return { id: p.keyId, privateKey: parseSigningKey(p.privateKey), publicKey: parsePublicKey(p.publicKey) };
};

function chain(n: number, data: (seq: number) => Record<string, unknown> = (seq) => ({ seq })): ChainedRecord[] {
  const out: ChainedRecord[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body: RecordBody = {
      seq, event_id: `e${seq}`, type: 't.x', source: 's', occurred_at: 'o', recorded_at: 'r', actor: null,
      entity_type: 'e', entity_id: null, request_id: null, trace_id: null, data: data(seq),
    };
    const hash = recordHash(prev, body);
    out.push({ ...body, prev_hash: prev, hash });
    prev = hash;
  }
  return out;
}

const cpOf = (r: ChainedRecord, pair: Pair = keyPair): VerifierCheckpoint => {
  const cp = { seq: r.seq, hash: r.hash, created_at: 'c', key_id: pair.id };
  return { ...cp, alg: 'ed25519', signature: signCheckpoint(pair.privateKey, cp) };
};

function run(records: ChainedRecord[], opts: Partial<ConstructorParameters<typeof ChainVerifier>[0]> = {}, head?: { seq: number; hash: string }) {
  const v = new ChainVerifier({ publicKeys: [keyPair.publicKey], contiguous: true, toHead: true, ...opts });
  for (const r of records) v.add(r);
  return v.finish(head);
}

describe('ChainVerifier', () => {
  it('accepts an intact chain with valid checkpoints', () => {
    const c = chain(10);
    const out = run(c, { checkpoints: [cpOf(c[4]), cpOf(c[9])] }, { seq: 10, hash: c[9].hash });
    expect(out).toMatchObject({ ok: true, checked: 10, checkpoints_ok: true, checkpoints_checked: 2, checkpoints_trusted: 2, attested_seq: 10 });
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
    expect(run(c, { checkpoints: [{ ...cpOf(c[4]), signature: '00'.repeat(64) }] })).toMatchObject({ ok: false, checkpoints_ok: false, checkpoints_trusted: 0 });
  });

  it('checks filtered (non-contiguous) records on their own and links neighbours', () => {
    const c = chain(10);
    expect(run([c[1], c[2], c[7]], { contiguous: false, toHead: false })).toMatchObject({ ok: true, checked: 3 });
  });
});

/**
 * The attacker of issue 9: edits a record in an export, recomputes every hash after it and re-creates the
 * checkpoints from there on without the audit service's private key. Checked as the offline CLI does for a
 * full export (requireSignedHead), with only the public key.
 */
describe('ChainVerifier: forged checkpoints, with the public key only', () => {
  const N = 50;
  const original = chain(N);
  const every10 = (c: ChainedRecord[], sign: (r: ChainedRecord) => VerifierCheckpoint) => c.filter((r) => r.seq % 10 === 0).map(sign);
  const full = (records: ChainedRecord[], checkpoints: VerifierCheckpoint[], publicKeys = [keyPair.publicKey]) =>
    run(records, { checkpoints, publicKeys, requireSignedHead: true }, { seq: records.length, hash: records[records.length - 1].hash });
  // seq 25 edited and the chain recomputed from there: records are self-consistent again
  const rewritten = chain(N, (seq) => (seq === 25 ? { seq, owner: 'attacker' } : { seq }));
  const genuineUpTo20 = every10(original, (r) => cpOf(r)).filter((cp) => cp.seq <= 20);

  it('the genuine export verifies and is attested to its head', () => {
    expect(full(original, every10(original, (r) => cpOf(r)))).toMatchObject({ ok: true, attested_seq: N, checkpoints_trusted: 5 });
  });

  it('checkpoints re-signed with another Ed25519 key (under its own or the genuine key id) are caught at the first unvouched seq', () => {
    const attacker = newPair();
    const own = full(rewritten, [...genuineUpTo20, ...every10(rewritten, (r) => cpOf(r, attacker)).filter((cp) => cp.seq > 20)]);
    expect(own).toMatchObject({ ok: false, checkpoints_ok: false, first_bad_seq: 21, attested_seq: 20 });
    expect(own.problems.join('\n')).toMatch(/checkpoint 30: signed with an unknown key/);
    const spoofedId = every10(rewritten, (r) => ({ ...cpOf(r, attacker), key_id: keyPair.id })).filter((cp) => cp.seq > 20);
    const spoofed = full(rewritten, [...genuineUpTo20, ...spoofedId]);
    expect(spoofed).toMatchObject({ ok: false, first_bad_seq: 21 });
    expect(spoofed.problems.join('\n')).toMatch(/checkpoint 30: checkpoint signature is not valid/);
  });

  it('checkpoints forged as HMACs (the old scheme, which whoever verifies could compute) are not trusted', () => {
    const hmacKey = 'the-old-shared-checkpoint-key-0123456789';
    const hmac = (r: ChainedRecord): VerifierCheckpoint => {
      const cp = { seq: r.seq, hash: r.hash, created_at: 'c', key_id: 'legacy' };
      return { ...cp, alg: 'hmac-sha256', signature: createHmac('sha256', hmacKey).update(checkpointMessage(cp)).digest('hex') };
    };
    const out = full(rewritten, [...genuineUpTo20, ...every10(rewritten, hmac).filter((cp) => cp.seq > 20)]);
    expect(out).toMatchObject({ ok: false, first_bad_seq: 21, attested_seq: 20, checkpoints_legacy: 3 });
    // a checkpoint line without alg (an export from before Ed25519) is legacy too
    const noAlg = every10(rewritten, hmac).map(({ alg: _alg, ...cp }) => cp);
    expect(full(rewritten, noAlg)).toMatchObject({ ok: false, first_bad_seq: 1, attested_seq: 0, checkpoints_legacy: 5 });
  });

  it('dropping the checkpoints after the edit (or all of them) leaves records no signature vouches for', () => {
    expect(full(rewritten, genuineUpTo20)).toMatchObject({ ok: false, checkpoints_ok: false, first_bad_seq: 21, attested_seq: 20 });
    const none = full(rewritten, []);
    expect(none).toMatchObject({ ok: false, first_bad_seq: 1, attested_seq: 0 });
    expect(none.problems.join('\n')).toMatch(/records 1\.\.50 are not covered by a checkpoint signed with a published key/);
    // without requiring a signed head (the online check, which has an unsigned tail between checkpoints) it is reported, not failed
    expect(run(original, { checkpoints: every10(original, (r) => cpOf(r)).filter((cp) => cp.seq <= 40) })).toMatchObject({ ok: true, attested_seq: 40 });
  });

  it('rotation: checkpoints signed with the previous key verify while its public key is kept, and only then', () => {
    const next = newPair();
    const mixed = [...every10(original, (r) => cpOf(r)).filter((cp) => cp.seq <= 30), ...every10(original, (r) => cpOf(r, next)).filter((cp) => cp.seq > 30)];
    expect(full(original, mixed, [next.publicKey, keyPair.publicKey])).toMatchObject({ ok: true, checkpoints_trusted: 5, attested_seq: N });
    const forgotten = full(original, mixed, [next.publicKey]);
    expect(forgotten).toMatchObject({ ok: false, first_bad_seq: 1 });
    expect(forgotten.problems.join('\n')).toContain(`signed with an unknown key (${keyPair.id})`);
  });

  it('legacy HMAC checkpoints in the database are counted, not trusted, and do not fail the online check', () => {
    const legacy = { ...cpOf(original[9]), alg: 'hmac-sha256', key_id: 'old', signature: 'ab'.repeat(32) };
    expect(run(original, { checkpoints: [legacy, cpOf(original[19])] })).toMatchObject({ ok: true, checkpoints_legacy: 1, checkpoints_trusted: 1, attested_seq: 20 });
  });

  it('without keys nothing is signature-checked (and says so)', () => {
    expect(run(rewritten, { publicKeys: null, checkpoints: [], requireSignedHead: true })).toMatchObject({ ok: true, signatures_checked: false });
  });
});
