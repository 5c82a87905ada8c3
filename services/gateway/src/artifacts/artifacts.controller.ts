import { Controller, Delete, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  ArtifactsInternalPaths,
  ArtifactsRpc,
  Permissions,
  listArtifactsSchema,
  type ArtifactView,
  type ListArtifactsRequest,
  type Page,
  type VerifyResult,
} from '@opsdesk/contracts';
import { RequirePermission } from '@opsdesk/authn';
import { RpcClient } from '@opsdesk/messaging';
import { InternalProxy } from '../common/internal-proxy';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

const hostListSchema = listArtifactsSchema.omit({ host_id: true });

/**
 * Artifacts (SPEC §4). Metadata, list, delete and verify are small JSON RPCs; bodies (upload, download) are
 * streamed to/from the artifacts service's internal port by InternalProxy and never buffered here.
 */
@Controller()
export class ArtifactsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly proxy: InternalProxy,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post('hosts/:id/artifacts')
  @RequirePermission(Permissions.ARTIFACTS_WRITE)
  upload(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.proxy.forward(req, reply, this.config.ARTIFACTS_URL, ArtifactsInternalPaths.upload(id), { streamBody: true });
  }

  @Get('hosts/:id/artifacts')
  @RequirePermission(Permissions.HOSTS_READ)
  listForHost(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query(new ZodPipe(hostListSchema)) query: Omit<ListArtifactsRequest, 'host_id'>,
    @Req() req: AuthedRequest,
  ): Promise<Page<ArtifactView>> {
    return this.rpc.call(ArtifactsRpc.LIST, { ...query, host_id: id }, rpcContext(req));
  }

  @Get('artifacts')
  @RequirePermission(Permissions.HOSTS_READ)
  list(@Query(new ZodPipe(listArtifactsSchema)) query: ListArtifactsRequest, @Req() req: AuthedRequest): Promise<Page<ArtifactView>> {
    return this.rpc.call(ArtifactsRpc.LIST, query, rpcContext(req));
  }

  @Get('artifacts/:id')
  @RequirePermission(Permissions.HOSTS_READ)
  get(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<ArtifactView> {
    return this.rpc.call(ArtifactsRpc.GET, { id }, rpcContext(req));
  }

  @Get('artifacts/:id/download')
  @RequirePermission(Permissions.ARTIFACTS_DOWNLOAD)
  download(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.proxy.forward(req, reply, this.config.ARTIFACTS_URL, ArtifactsInternalPaths.download(id));
  }

  // Verifying proves custody; whoever may download (admin, operator, auditor) may verify.
  @Post('artifacts/:id/verify')
  @HttpCode(200)
  @RequirePermission(Permissions.ARTIFACTS_DOWNLOAD)
  verify(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<VerifyResult> {
    return this.rpc.call(ArtifactsRpc.VERIFY, { id }, rpcContext(req));
  }

  @Delete('artifacts/:id')
  @HttpCode(204)
  @RequirePermission(Permissions.ARTIFACTS_WRITE)
  async remove(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<void> {
    await this.rpc.call(ArtifactsRpc.DELETE, { id }, rpcContext(req));
  }
}
