import type { KeyObject } from 'node:crypto';
import { GENESIS_HASH, recordHash, type ChainedRecord } from './canonical';
import { CHECKPOINT_ALG, LEGACY_HMAC_ALG, checkpointKeyId, checkpointSignatureValid } from './checkpoint-keys';

export interface VerifierCheckpoint {
  seq: number;
  hash: string;
  created_at: string;
  key_id: string;
  signature: string;
  /** absent in exports written before Ed25519 checkpoints: those are legacy HMAC ones */
  alg?: string;
}

export interface VerifierOptions {
  /**
   * Ed25519 public keys checkpoints may be signed with (the current one and earlier ones after a rotation);
   * without them signatures are not checked (hashes still are)
   */
  publicKeys?: KeyObject[] | null;
  /**
   * every record must be covered by a trusted checkpoint (a full export: the service signs its head when
   * exporting); otherwise records after the last trusted checkpoint are reported but not a failure
   */
  requireSignedHead?: boolean;
  /** checkpoints of the verified range, known before the records are streamed */
  checkpoints?: VerifierCheckpoint[];
  /**
   * contiguous: records are the whole chain (or a seq range of it) and must follow each other without
   * gaps; false for filtered exports, where only neighbouring seqs are linked
   */
  contiguous: boolean;
  /** first expected seq and the hash before it (genesis for seq 1) */
  startSeq?: number;
  startPrevHash?: string;
  /** the range reaches the head: checkpoints beyond the last record mean the tail was removed */
  toHead: boolean;
}

export interface VerifierOutcome {
  ok: boolean;
  checked: number;
  last_seq: number;
  last_hash: string;
  first_bad_seq?: number;
  checkpoints_ok: boolean;
  checkpoints_checked: number;
  /** checkpoints with a valid Ed25519 signature by a known key */
  checkpoints_trusted: number;
  /** HMAC checkpoints from before Ed25519: reported, never trusted (their key could also forge them) */
  checkpoints_legacy: number;
  /** highest seq vouched for by a trusted checkpoint whose hash matches the record there (0: none) */
  attested_seq: number;
  signatures_checked: boolean;
  problems: string[];
}

const MAX_PROBLEMS = 50;

/**
 * Streaming chain check shared by GET /api/audit/verify (records from the database) and the offline CLI
 * (records from a JSONL export). Memory is bounded by the number of checkpoints, not of records.
 * The first bad seq is the lowest seq at which the stored trail stops being what was recorded: a record
 * whose hash does not match its content, a broken prev_hash link, a missing seq, or a checkpoint that
 * does not match (or lies beyond the end of) the records.
 */
export class ChainVerifier {
  private readonly checkpoints = new Map<number, VerifierCheckpoint>();
  /** checkpoint seqs whose hash equals the record's hash there */
  private readonly matched = new Set<number>();
  private expectedSeq: number | null;
  private prevHash: string | null;
  private lastSeq = 0;
  private lastHash = GENESIS_HASH;
  private checked = 0;
  private firstBad: number | null = null;
  private checkpointsOk = true;
  private readonly problems: string[] = [];

  constructor(private readonly opts: VerifierOptions) {
    for (const cp of opts.checkpoints ?? []) this.checkpoints.set(cp.seq, cp);
    this.expectedSeq = opts.contiguous ? (opts.startSeq ?? 1) : null;
    this.prevHash = opts.contiguous ? (opts.startPrevHash ?? ((opts.startSeq ?? 1) === 1 ? GENESIS_HASH : null)) : null;
    if (opts.startSeq && opts.startSeq > 1) this.lastSeq = opts.startSeq - 1;
  }

  private bad(seq: number, problem: string): void {
    if (this.firstBad === null || seq < this.firstBad) this.firstBad = seq;
    if (this.problems.length < MAX_PROBLEMS) this.problems.push(`seq ${seq}: ${problem}`);
  }

  add(r: ChainedRecord): void {
    this.checked++;
    if (recordHash(r.prev_hash, r) !== r.hash) this.bad(r.seq, 'hash does not match the record content');
    if (this.opts.contiguous) {
      if (this.expectedSeq !== null && r.seq !== this.expectedSeq) {
        this.bad(Math.min(r.seq, this.expectedSeq), `expected seq ${this.expectedSeq}, found ${r.seq} (records missing or out of order)`);
      } else if (this.prevHash !== null && r.prev_hash !== this.prevHash) {
        this.bad(r.seq, 'prev_hash does not match the previous record');
      }
    } else if (this.checked > 1 && r.seq === this.lastSeq + 1 && r.prev_hash !== this.lastHash) {
      this.bad(r.seq, 'prev_hash does not match the previous record');
    }
    const cp = this.checkpoints.get(r.seq);
    if (cp && cp.hash !== r.hash) {
      this.checkpointsOk = false;
      this.bad(r.seq, 'record hash differs from the signed checkpoint');
    } else if (cp) {
      this.matched.add(r.seq);
    }
    this.lastSeq = r.seq;
    this.lastHash = r.hash;
    this.expectedSeq = r.seq + 1;
    this.prevHash = r.hash;
  }

  finish(head?: { seq: number; hash: string }): VerifierOutcome {
    const keys = this.opts.publicKeys ? new Map(this.opts.publicKeys.map((k) => [checkpointKeyId(k), k])) : null;
    let checkpointsChecked = 0;
    let trusted = 0;
    let legacy = 0;
    // the highest seq the signatures still vouch for, walking up: a bad checkpoint means something after it
    let attested = 0;
    let lastGood = (this.opts.startSeq ?? 1) - 1;
    let attestationBroken = false;
    for (const cp of [...this.checkpoints.values()].sort((a, b) => a.seq - b.seq)) {
      checkpointsChecked++;
      const alg = cp.alg ?? LEGACY_HMAC_ALG;
      if (alg === LEGACY_HMAC_ALG) {
        legacy++;
      } else if (keys) {
        const key = keys.get(cp.key_id);
        let problem: string | null = null;
        if (alg !== CHECKPOINT_ALG) problem = `signed with an unknown algorithm (${String(alg)})`;
        else if (!key) problem = `signed with an unknown key (${cp.key_id}): not one of the published verification keys`;
        else if (!checkpointSignatureValid(key, cp)) problem = 'checkpoint signature is not valid';
        if (problem) {
          this.checkpointsOk = false;
          attestationBroken = true;
          // the signatures vouch for nothing after the last good checkpoint below this one
          this.bad(this.opts.contiguous ? Math.min(cp.seq, lastGood + 1) : cp.seq, `checkpoint ${cp.seq}: ${problem}`);
        } else {
          trusted++;
          if (this.matched.has(cp.seq) && !attestationBroken) attested = lastGood = cp.seq;
        }
      }
      if (this.opts.toHead && cp.seq > this.lastSeq) {
        this.checkpointsOk = false;
        this.bad(this.lastSeq + 1, `a signed checkpoint covers seq ${cp.seq} but the records end at ${this.lastSeq}: the tail was removed`);
      }
    }
    if (keys && this.opts.requireSignedHead && this.checked > 0 && lastGood < this.lastSeq && !attestationBroken) {
      // not proof of a change, only of no signature: named as the first bad seq only when nothing else is wrong
      const problem = `records ${lastGood + 1}..${this.lastSeq} are not covered by a checkpoint signed with a published key: they may have been rewritten`;
      this.checkpointsOk = false;
      if (this.firstBad === null) this.bad(lastGood + 1, problem);
      else if (this.problems.length < MAX_PROBLEMS) this.problems.push(problem);
    }
    if (head && this.opts.toHead) {
      if (head.seq !== this.lastSeq) this.bad(Math.min(head.seq, this.lastSeq) + 1, `head is at seq ${head.seq} but the records end at ${this.lastSeq}`);
      else if (head.seq > 0 && head.hash !== this.lastHash) this.bad(head.seq, 'head hash differs from the last record');
    }
    const out: VerifierOutcome = {
      ok: this.firstBad === null && this.checkpointsOk,
      checked: this.checked,
      last_seq: this.lastSeq,
      last_hash: this.lastHash,
      checkpoints_ok: this.checkpointsOk,
      checkpoints_checked: checkpointsChecked,
      checkpoints_trusted: trusted,
      checkpoints_legacy: legacy,
      attested_seq: attested,
      signatures_checked: keys !== null,
      problems: this.problems,
    };
    if (this.firstBad !== null) out.first_bad_seq = this.firstBad;
    return out;
  }
}
