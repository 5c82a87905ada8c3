import { Readable } from 'node:stream';
import { Controller, Get, Logger, Query, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { auditFiltersSchema } from '@opsdesk/contracts';
import type { InternalClaims } from '@opsdesk/authn';
import { parseRpcData } from '@opsdesk/messaging';
import { InternalAuthGuard, InternalCaller, InternalHttpErrorFilter } from '@opsdesk/platform';
import { ExportService, type ExportFormat } from './export.service';

const CONTENT_TYPES: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  jsonl: 'application/x-ndjson; charset=utf-8',
};

/**
 * Internal HTTP port only (SPEC §2: bulk bodies never travel over NATS). The gateway authorises the user
 * (audit:read), then forwards here with an internal token bound to this method and path.
 */
@Controller('internal/audit')
@UseGuards(InternalAuthGuard)
@UseFilters(InternalHttpErrorFilter)
export class ExportController {
  private readonly logger = new Logger(ExportController.name);

  constructor(private readonly exports: ExportService) {}

  @Get('export.csv')
  csv(@Query() query: Record<string, unknown>, @InternalCaller() caller: InternalClaims, @Res() reply: FastifyReply): Promise<void> {
    return this.export('csv', query, caller, reply);
  }

  @Get('export.jsonl')
  jsonl(@Query() query: Record<string, unknown>, @InternalCaller() caller: InternalClaims, @Res() reply: FastifyReply): Promise<void> {
    return this.export('jsonl', query, caller, reply);
  }

  private async export(format: ExportFormat, query: Record<string, unknown>, caller: InternalClaims, reply: FastifyReply): Promise<void> {
    // COMMON.VALIDATION_FAILED with field errors, answered by InternalHttpErrorFilter like every internal route
    const filters = parseRpcData(auditFiltersSchema, query ?? {});
    const snapshot = await this.exports.begin(format, filters, caller.actor, caller.request_id);
    const source = format === 'csv' ? this.exports.csv(filters, snapshot) : this.exports.jsonl(filters, snapshot);
    // Readable.from pulls the generator only as fast as the socket drains: one batch in memory at a time.
    const stream = Readable.from(source, { objectMode: false, highWaterMark: 64 * 1024 });
    stream.on('error', (err) => this.logger.error(`export ${format} failed mid-stream: ${err.message}`));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    void reply
      .status(200)
      .header('Content-Type', CONTENT_TYPES[format])
      .header('Content-Disposition', `attachment; filename="audit-${stamp}.${format}"`)
      .header('X-Content-Type-Options', 'nosniff')
      .send(stream);
  }
}
