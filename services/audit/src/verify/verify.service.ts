import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { Metrics, recordAuditVerification } from '@opsdesk/observability';
import { AppError, AuditErrors, type AuditVerifyResult, type VerifyAuditRequest } from '@opsdesk/contracts';
import { GENESIS_HASH } from '../chain/canonical';
import { ChainService } from '../chain/chain.service';
import { ChainVerifier } from '../chain/chain-verifier';
import { AuditRecordsRepository } from '../chain/audit-records.repository';
import { toCheckpoint, toRecord } from '../chain/record-row';

const BATCH = 5000;
/** Postgres advisory lock key of "a verification is running" (any number unique to this use; 'OPSDVRFY') */
const VERIFY_LOCK_KEY = '5786644318815881561';

/**
 * Recomputes the chain from the database in keyset batches (constant memory) and checks the checkpoints with
 * the public keys only (the same check as the offline CLI). Records after the last checkpoint are normal here
 * (one is signed every N records / M minutes): attested_seq says how far the signatures reach.
 */
@Injectable()
export class VerifyService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly chain: ChainService,
    private readonly records: AuditRecordsRepository,
  ) {
    // exported from the start (0), so OpsDeskAuditVerificationFailed has a series to watch
    Metrics.auditVerifications().inc({ result: 'ok' }, 0);
    Metrics.auditVerifications().inc({ result: 'failed' }, 0);
    Metrics.auditLastVerification();
  }

  /**
   * One verification at a time across every audit replica (a whole-chain run reads every record): a session-level
   * advisory lock on a connection of its own; a second caller gets 429 with Retry-After rather than a second scan.
   */
  async verify(req: VerifyAuditRequest): Promise<AuditVerifyResult> {
    if (req.to_seq !== undefined && req.to_seq < (req.from_seq ?? 1)) {
      throw new AppError(AuditErrors.INVALID_RANGE, 'to_seq must not be below from_seq', [{ field: 'to_seq', message: 'below from_seq' }]);
    }
    const lock = this.dataSource.createQueryRunner();
    await lock.connect();
    try {
      const [{ ok }] = (await lock.query(`SELECT pg_try_advisory_lock($1::bigint) AS ok`, [VERIFY_LOCK_KEY])) as Array<{ ok: boolean }>;
      if (!ok) {
        throw new AppError(AuditErrors.VERIFY_BUSY, 'A verification of the audit chain is already running; retry shortly (or bound it with from_seq)', undefined, {
          retry_after: 5,
        });
      }
      try {
        const result = await this.verifyRange(req);
        recordAuditVerification(result.ok);
        return result;
      } finally {
        await lock.query(`SELECT pg_advisory_unlock($1::bigint)`, [VERIFY_LOCK_KEY]);
      }
    } finally {
      await lock.release();
    }
  }

  private async verifyRange(req: VerifyAuditRequest): Promise<AuditVerifyResult> {
    const from = req.from_seq ?? 1;
    const toHead = req.to_seq === undefined;
    // Order matters under concurrent writes (found by the fault suite): checkpoints first, then the head, then the
    // records up to that head. A checkpoint is only ever signed at or below the head of its time, so every one read
    // here is at or below the head read next — unless the head was moved back (tampering), which the verifier
    // reports. Records appended meanwhile are beyond the head read and are not half-seen.
    const cps = (await this.records.checkpointsBetween(from - 1, req.to_seq ?? Number.MAX_SAFE_INTEGER)).map(toCheckpoint);
    const head = await this.records.head();
    const to = req.to_seq ?? head.seq;

    let startPrevHash = GENESIS_HASH;
    if (from > 1) {
      startPrevHash = (await this.records.hashAt(from - 1)) ?? '';
    }
    // checkpoints are few (one per N records, read above); records are streamed
    const verifier = new ChainVerifier({ publicKeys: this.chain.publicKeys, checkpoints: cps, contiguous: true, startSeq: from, startPrevHash, toHead });

    let after = from - 1;
    for (;;) {
      const rows = await this.records.recordsBetween(after, to, BATCH);
      for (const row of rows) verifier.add(toRecord(row));
      if (rows.length < BATCH) break;
      after = Number(rows[rows.length - 1].seq);
    }
    const outcome = verifier.finish(head);
    const result: AuditVerifyResult = {
      ok: outcome.ok,
      checked: outcome.checked,
      head_seq: head.seq,
      head_hash: head.hash,
      checkpoints_ok: outcome.checkpoints_ok,
      checkpoints_checked: outcome.checkpoints_checked,
      checkpoints_trusted: outcome.checkpoints_trusted,
      checkpoints_legacy: outcome.checkpoints_legacy,
      attested_seq: outcome.attested_seq,
      problems: outcome.problems,
    };
    if (outcome.first_bad_seq !== undefined) result.first_bad_seq = outcome.first_bad_seq;
    return result;
  }
}
