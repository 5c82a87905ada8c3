import { Readable } from 'node:stream';
import { Controller, Get, Logger, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AuditErrorCodes, auditFiltersSchema } from '@opsdesk/contracts';
import type { InternalClaims } from '@opsdesk/auth';
import { zodFieldErrors } from '@opsdesk/messaging';
import { InternalAuthGuard, InternalCaller } from '@opsdesk/platform';
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
    const parsed = auditFiltersSchema.safeParse(query ?? {});
    if (!parsed.success) {
      void reply.status(400).send({ code: AuditErrorCodes.VALIDATION_FAILED, message: 'Request validation failed', errors: zodFieldErrors(parsed.error) });
      return;
    }
    const filters = parsed.data;
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
