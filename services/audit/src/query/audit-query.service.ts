import { Injectable } from '@nestjs/common';
import { AppError, AuditErrors, decodeCursor, encodeCursor, type AuditRecordView, type ListAuditRequest, type Page } from '@opsdesk/contracts';
import { AuditRecordsRepository } from '../chain/audit-records.repository';
import { toRecord } from '../chain/record-row';

/** Newest first, keyset on seq (unique and gapless, so the cursor is just the last seq seen). */
@Injectable()
export class AuditQueryService {
  constructor(private readonly records: AuditRecordsRepository) {}

  async list(req: ListAuditRequest): Promise<Page<AuditRecordView>> {
    let beforeSeq: number | undefined;
    if (req.cursor) {
      const c = decodeCursor<{ s?: unknown }>(req.cursor);
      if (!c || typeof c.s !== 'number' || !Number.isSafeInteger(c.s) || c.s < 1) {
        throw new AppError(AuditErrors.INVALID_CURSOR, 'cursor is not valid', [{ field: 'cursor', message: 'not a cursor from this list' }]);
      }
      beforeSeq = c.s;
    }
    // `skip` for the original's clients: honoured as an offset when no cursor is given (the gateway refuses both at
    // once); next_cursor then continues by keyset from the last row of this page
    const rows = await this.records.newestFirst(req, { beforeSeq, offset: req.cursor ? undefined : req.skip, limit: req.limit + 1 });
    const items = rows.slice(0, req.limit).map(toRecord);
    const more = rows.length > req.limit;
    return { items, next_cursor: more ? encodeCursor({ s: items[items.length - 1].seq }) : null };
  }
}
