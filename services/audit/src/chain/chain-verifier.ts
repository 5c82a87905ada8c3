import { GENESIS_HASH, checkpointSignatureValid, recordHash, signingKeyId, type ChainedRecord } from './canonical';

export interface VerifierCheckpoint {
  seq: number;
  hash: string;
  created_at: string;
  key_id: string;
  signature: string;
}

export interface VerifierOptions {
  /** checkpoint key; without it signatures are not checked (hashes still are) */
  key?: Buffer | null;
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
    }
    this.lastSeq = r.seq;
    this.lastHash = r.hash;
    this.expectedSeq = r.seq + 1;
    this.prevHash = r.hash;
  }

  finish(head?: { seq: number; hash: string }): VerifierOutcome {
    const key = this.opts.key ?? null;
    const keyId = key ? signingKeyId(key) : null;
    let checkpointsChecked = 0;
    for (const cp of [...this.checkpoints.values()].sort((a, b) => a.seq - b.seq)) {
      checkpointsChecked++;
      if (key) {
        if (cp.key_id !== keyId) {
          this.checkpointsOk = false;
          this.problems.push(`checkpoint ${cp.seq}: signed with another key (${cp.key_id})`);
        } else if (!checkpointSignatureValid(key, cp)) {
          this.checkpointsOk = false;
          this.bad(cp.seq, 'checkpoint signature is not valid');
        }
      }
      if (this.opts.toHead && cp.seq > this.lastSeq) {
        this.checkpointsOk = false;
        this.bad(this.lastSeq + 1, `a signed checkpoint covers seq ${cp.seq} but the records end at ${this.lastSeq}: the tail was removed`);
      }
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
      signatures_checked: key !== null,
      problems: this.problems,
    };
    if (this.firstBad !== null) out.first_bad_seq = this.firstBad;
    return out;
  }
}
