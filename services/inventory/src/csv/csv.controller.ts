import type { IncomingMessage } from 'node:http';
import { PassThrough, type Readable } from 'node:stream';
import { Controller, Get, HttpCode, Post, Query, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import Busboy from 'busboy';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InternalClaims } from '@opsdesk/authn';
import { AppError, ErrorCodes, InventoryErrors, Permissions, hostFiltersSchema, importQuerySchema, roleHas, type ImportReport, type RpcContext } from '@opsdesk/contracts';
import { parseRpcData } from '@opsdesk/messaging';
import { InternalHttpErrorFilter, InternalAuthGuard, InternalCaller } from '@opsdesk/platform';
import { ExportService } from './export.service';
import { ImportService } from './import.service';

/** The file part of a multipart upload (the first file field), as a stream. */
function multipartFile(req: IncomingMessage, maxBytes: number): Promise<Readable> {
  return new Promise((resolve, reject) => {
    let bb: ReturnType<typeof Busboy>;
    try {
      bb = Busboy({ headers: req.headers, limits: { files: 1, fileSize: maxBytes, fields: 20 } });
    } catch (err) {
      return reject(new AppError(InventoryErrors.IMPORT_INVALID, `Bad multipart body: ${(err as Error).message}`));
    }
    let found = false;
    bb.on('file', (_name, file) => {
      found = true;
      file.on('limit', () => file.destroy(new AppError(InventoryErrors.IMPORT_TOO_LARGE, `CSV is larger than the limit of ${maxBytes} bytes`)));
      resolve(file);
    });
    bb.on('error', (err) => reject(new AppError(InventoryErrors.IMPORT_INVALID, `Bad multipart body: ${(err as Error).message}`)));
    bb.on('close', () => {
      if (!found) reject(new AppError(InventoryErrors.IMPORT_INVALID, 'Multipart body without a file part', [{ field: 'file', message: 'is required' }]));
    });
    req.pipe(bb);
  });
}

function ctxOf(caller: InternalClaims): RpcContext {
  return { actor: caller.actor, request_id: caller.request_id };
}

/**
 * CSV import and export on the internal HTTP port: bodies stream from and to the gateway (InternalProxy) and
 * never travel over NATS. The gateway authorises; the internal token proves it, and the role is checked again.
 */
@Controller('internal/hosts')
@UseGuards(InternalAuthGuard)
@UseFilters(InternalHttpErrorFilter)
export class CsvController {
  constructor(
    private readonly imports: ImportService,
    private readonly exports: ExportService,
  ) {}

  @Post('import')
  @HttpCode(200)
  async import(@Req() req: FastifyRequest, @Query() query: unknown, @InternalCaller() caller: InternalClaims): Promise<ImportReport> {
    if (!roleHas(caller.principal.role, Permissions.HOSTS_WRITE)) throw new AppError(ErrorCodes.FORBIDDEN, 'hosts:write required');
    const q = parseRpcData(importQuerySchema, query ?? {});
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    let input: Readable;
    // through a PassThrough, not req.raw itself: the import's pipeline destroys what it reads when a stage fails
    // (413, bad CSV), and a destroyed request cannot be drained, so its refusal would have to close the connection
    // under a gateway still relaying the body (libs/platform lingerAfterAnswer)
    if (type === 'text/csv' || type === 'text/plain' || type === 'application/csv') input = req.raw.pipe(new PassThrough());
    else if (type === 'multipart/form-data') input = await multipartFile(req.raw, this.imports.maxBytes);
    else throw new AppError(InventoryErrors.IMPORT_UNSUPPORTED_MEDIA_TYPE, 'Send the CSV as text/csv or multipart/form-data (field file)');
    return this.imports.run(input, q, ctxOf(caller));
  }

  @Get('export.csv')
  exportCsv(@Query() query: unknown, @Res() reply: FastifyReply, @InternalCaller() caller: InternalClaims): void {
    if (!roleHas(caller.principal.role, Permissions.HOSTS_READ)) throw new AppError(ErrorCodes.FORBIDDEN, 'hosts:read required');
    const filters = parseRpcData(hostFiltersSchema, query ?? {});
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    void reply
      .status(200)
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="opsdesk-hosts-${stamp}.csv"`)
      .header('x-content-type-options', 'nosniff')
      .send(this.exports.stream(filters));
  }
}
