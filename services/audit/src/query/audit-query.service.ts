import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, AuditErrors, decodeCursor, encodeCursor, type AuditRecordView, type ListAuditRequest, type Page } from '@opsdesk/contracts';
import { RECORD_COLUMNS, toRecord, type RecordRow } from '../chain/record-row';
import { filterConditions } from './audit-filters';

/** Newest first, keyset on seq (unique and gapless, so the cursor is just the last seq seen). */
@Injectable()
export class AuditQueryService {
  constructor(private readonly dataSource: DataSource) {}

  async list(req: ListAuditRequest): Promise<Page<AuditRecordView>> {
    const params: unknown[] = [];
    const where = filterConditions(req, params);
    if (req.cursor) {
      const c = decodeCursor<{ s?: unknown }>(req.cursor);
      if (!c || typeof c.s !== 'number' || !Number.isSafeInteger(c.s) || c.s < 1) {
        throw new AppError(AuditErrors.INVALID_CURSOR, 'cursor is not valid', [{ field: 'cursor', message: 'not a cursor from this list' }]);
      }
      params.push(c.s);
      where.push(`seq < $${params.length}`);
    }
    params.push(req.limit + 1);
    let offset = '';
    if (!req.cursor && req.skip) {
      // `skip` for the original's clients: honoured as an offset when no cursor is given (the gateway refuses
      // both at once); next_cursor then continues by keyset from the last row of this page
      params.push(req.skip);
      offset = ` OFFSET $${params.length}`;
    }
    const rows = (await this.dataSource.query(
      `SELECT ${RECORD_COLUMNS} FROM audit.records ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
        ORDER BY seq DESC LIMIT $${params.length - (offset ? 1 : 0)}${offset}`,
      params,
    )) as RecordRow[];
    const items = rows.slice(0, req.limit).map(toRecord);
    const more = rows.length > req.limit;
    return { items, next_cursor: more ? encodeCursor({ s: items[items.length - 1].seq }) : null };
  }
}
