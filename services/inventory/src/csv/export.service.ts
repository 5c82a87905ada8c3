import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { csvLine, HOST_DATA_FIELDS, type HostFilters } from '@opsdesk/contracts';
import { hostFilterSql } from '../hosts/hosts.repository';

const PAGE = 2000;

/**
 * Streams the inventory as CSV (the import format, see csv-format.ts) in hostname order. One REPEATABLE READ
 * transaction gives the whole file one consistent snapshot; keyset pages keep memory flat at any size; the
 * stream is pulled, so a slow client slows the query loop instead of filling memory.
 */
@Injectable()
export class ExportService {
  constructor(private readonly dataSource: DataSource) {}

  stream(filters: HostFilters): Readable {
    const ds = this.dataSource;
    async function* rows(): AsyncGenerator<string> {
      const qr = ds.createQueryRunner();
      await qr.connect();
      try {
        await qr.startTransaction('REPEATABLE READ');
        yield csvLine([...HOST_DATA_FIELDS]);
        let after: string | null = null;
        for (;;) {
          const params: unknown[] = [];
          const where = hostFilterSql(filters, params);
          if (after !== null) {
            params.push(after);
            where.push(`lower(h.hostname) > $${params.length}`);
          }
          params.push(PAGE);
          const page: Array<Record<string, unknown> & { k: string }> = await qr.query(
            `SELECT h.hostname, h.fqdn, host(h.ip) AS ip, h.os, h.environment, h.owner, h.team, h.criticality, h.tags, h.notes,
                    h.connection_method, h.ssh_user, h.ssh_port, h.bastion_host, h.bastion_port, lower(h.hostname) AS k
               FROM inventory.hosts h ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
              ORDER BY lower(h.hostname) LIMIT $${params.length}`,
            params,
          );
          if (page.length === 0) break;
          let chunk = '';
          for (const r of page) {
            chunk += csvLine(
              HOST_DATA_FIELDS.map((f) => {
                const v = r[f];
                if (f === 'tags') return (v as string[]).join(';');
                return v === null || v === undefined ? null : typeof v === 'number' ? v : String(v);
              }),
            );
          }
          yield chunk;
          if (page.length < PAGE) break;
          after = page[page.length - 1].k;
        }
        await qr.commitTransaction();
      } finally {
        if (qr.isTransactionActive) await qr.rollbackTransaction().catch(() => undefined);
        await qr.release();
      }
    }
    return Readable.from(rows(), { objectMode: false });
  }
}
