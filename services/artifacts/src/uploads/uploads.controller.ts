import { Controller, HttpCode, Param, ParseUUIDPipe, Post, Req, UseFilters, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { InternalClaims } from '@opsdesk/authn';
import type { ArtifactView } from '@opsdesk/contracts';
import { InternalHttpErrorFilter, InternalAuthGuard, InternalCaller } from '@opsdesk/platform';
import { UploadsService } from './uploads.service';

/** Internal port only: the gateway streams `POST /api/hosts/:id/artifacts` here with an internal token. */
@Controller('internal')
@UseGuards(InternalAuthGuard)
@UseFilters(InternalHttpErrorFilter)
export class UploadsController {
  constructor(private readonly uploads: UploadsService) {}

  @Post('hosts/:hostId/artifacts')
  @HttpCode(201)
  upload(@Param('hostId', new ParseUUIDPipe()) hostId: string, @InternalCaller() caller: InternalClaims, @Req() req: FastifyRequest): Promise<ArtifactView> {
    return this.uploads.upload(hostId, caller, req.raw);
  }
}
