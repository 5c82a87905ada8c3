import { Controller, Get, Param, ParseUUIDPipe, Req, Res, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { InternalClaims } from '@opsdesk/authn';
import { InternalHttpErrorFilter, InternalAuthGuard, InternalCaller } from '@opsdesk/platform';
import { DownloadsService } from './downloads.service';

/** Internal port only: the gateway streams `GET /api/artifacts/:id/download` from here. */
@Controller('internal')
@UseGuards(InternalAuthGuard)
@UseFilters(InternalHttpErrorFilter)
export class DownloadsController {
  constructor(private readonly downloads: DownloadsService) {}

  @Get('artifacts/:id/download')
  download(
    @Param('id', new ParseUUIDPipe()) id: string,
    @InternalCaller() caller: InternalClaims,
    @Req() req: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    return this.downloads.serve(id, caller, req.raw, reply);
  }
}
