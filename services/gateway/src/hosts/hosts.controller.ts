import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, ParseUUIDPipe, Patch, Post, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AppError,
  InventoryErrors,
  InventoryRpc,
  Permissions,
  accessCommandSchema,
  createHostSchema,
  historyQuerySchema,
  hostAsOfQuerySchema,
  hostFiltersSchema,
  importQuerySchema,
  listHostsSchema,
  metricsListSchema,
  tagsQuerySchema,
  updateHostSchema,
  type AccessCommandRequest,
  type AccessCommandView,
  type CreateHostRequest,
  type HistoryQuery,
  type HostFilters,
  type HostRevisionView,
  type HostView,
  type HostsSummary,
  type ImportQuery,
  type ListHostsRequest,
  type MetricsSnapshotView,
  type Page,
  type TagsQuery,
  type UpdateHostRequest,
} from '@opsdesk/contracts';
import { RequirePermission } from '@opsdesk/authn';
import { RpcClient } from '@opsdesk/messaging';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { InternalProxy } from '../common/internal-proxy';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';
import { z } from 'zod';

const etag = (h: HostView) => `"${h.version}"`;

/**
 * If-Match → the version the client last saw. `*` means any; a value that is no ETag of ours can never
 * match (412), so a client with a malformed header never overwrites silently.
 */
export function expectedVersion(ifMatch: string | undefined): number | null {
  if (ifMatch === undefined || ifMatch.trim() === '' || ifMatch.trim() === '*') return null;
  const m = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(ifMatch);
  return m ? Number(m[1]) : -1;
}

/** Deleted hosts (history, as_of) are visible to the roles that investigate: admin and auditor. */
const seesDeleted = (req: AuthedRequest) => req.user?.role === 'admin' || req.user?.role === 'auditor';

function filterQuery(f: HostFilters): string {
  const p = new URLSearchParams();
  for (const k of ['q', 'environment', 'os', 'criticality', 'owner', 'team'] as const) {
    const v = f[k];
    if (v) p.set(k, v);
  }
  for (const t of f.tag ?? []) p.append('tag', t);
  return p.toString();
}

const uuid = new ParseUUIDPipe();

@Controller('hosts')
export class HostsController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly proxy: InternalProxy,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  @RequirePermission(Permissions.HOSTS_READ)
  list(@Query(new ZodPipe(listHostsSchema)) q: ListHostsRequest, @Req() req: AuthedRequest): Promise<Page<HostView>> {
    return this.rpc.call(InventoryRpc.HOSTS_LIST, q, rpcContext(req));
  }

  @Post()
  @RequirePermission(Permissions.HOSTS_WRITE)
  async create(@Body(new ZodPipe(createHostSchema)) body: CreateHostRequest, @Req() req: AuthedRequest, @Res({ passthrough: true }) reply: FastifyReply): Promise<HostView> {
    const host = await this.rpc.call(InventoryRpc.HOSTS_CREATE, body, rpcContext(req));
    void reply.header('ETag', etag(host)).header('Location', `/api/hosts/${host.id}`);
    return host;
  }

  @Get('summary')
  @RequirePermission(Permissions.HOSTS_READ)
  summary(@Req() req: AuthedRequest): Promise<HostsSummary> {
    return this.rpc.call(InventoryRpc.HOSTS_SUMMARY, {}, rpcContext(req));
  }

  @Get('export.csv')
  @RequirePermission(Permissions.HOSTS_READ)
  async exportCsv(@Query(new ZodPipe(hostFiltersSchema)) q: HostFilters, @Req() req: AuthedRequest, @Res() reply: FastifyReply): Promise<void> {
    await this.proxy.forward(req, reply, this.config.INVENTORY_URL, '/internal/hosts/export.csv', { method: 'GET', query: filterQuery(q) });
  }

  @Post('import')
  @RequirePermission(Permissions.HOSTS_WRITE)
  async importCsv(@Query(new ZodPipe(importQuerySchema)) q: ImportQuery, @Req() req: AuthedRequest, @Res() reply: FastifyReply): Promise<void> {
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (!['text/csv', 'multipart/form-data'].includes(type))
      throw new AppError(InventoryErrors.IMPORT_UNSUPPORTED_MEDIA_TYPE, 'Send the CSV as text/csv or multipart/form-data (field file)');
    const query = new URLSearchParams({ dry_run: String(q.dry_run), atomic: String(q.atomic), on_conflict: q.on_conflict, report: q.report }).toString();
    await this.proxy.forward(req, reply, this.config.INVENTORY_URL, '/internal/hosts/import', { method: 'POST', streamBody: true, query });
  }

  @Get(':id')
  @RequirePermission(Permissions.HOSTS_READ)
  async get(
    @Param('id', uuid) id: string,
    @Query(new ZodPipe(hostAsOfQuerySchema)) q: { as_of?: string },
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HostView> {
    const host = q.as_of
      ? await this.rpc.call(InventoryRpc.HOSTS_GET_AS_OF, { id, as_of: q.as_of, include_deleted: seesDeleted(req) }, rpcContext(req))
      : await this.rpc.call(InventoryRpc.HOSTS_GET, { id }, rpcContext(req));
    if (!q.as_of) void reply.header('ETag', etag(host));
    return host;
  }

  @Patch(':id')
  @RequirePermission(Permissions.HOSTS_WRITE)
  async update(
    @Param('id', uuid) id: string,
    @Body(new ZodPipe(updateHostSchema)) body: UpdateHostRequest,
    @Headers('if-match') ifMatch: string | undefined,
    @Req() req: AuthedRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<HostView> {
    const host = await this.rpc.call(InventoryRpc.HOSTS_UPDATE, { id, expected_version: expectedVersion(ifMatch), changes: body }, rpcContext(req));
    void reply.header('ETag', etag(host));
    return host;
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission(Permissions.HOSTS_WRITE)
  async remove(@Param('id', uuid) id: string, @Headers('if-match') ifMatch: string | undefined, @Req() req: AuthedRequest): Promise<void> {
    await this.rpc.call(InventoryRpc.HOSTS_DELETE, { id, expected_version: expectedVersion(ifMatch) }, rpcContext(req));
  }

  @Get(':id/history')
  @RequirePermission(Permissions.HOSTS_READ)
  history(@Param('id', uuid) id: string, @Query(new ZodPipe(historyQuerySchema)) q: HistoryQuery, @Req() req: AuthedRequest): Promise<Page<HostRevisionView>> {
    return this.rpc.call(InventoryRpc.HOSTS_HISTORY, { ...q, id, include_deleted: seesDeleted(req) }, rpcContext(req));
  }

  @Post(':id/access-command')
  @HttpCode(200)
  @RequirePermission(Permissions.ACCESS_ISSUE)
  access(@Param('id', uuid) id: string, @Body(new ZodPipe(accessCommandSchema)) body: AccessCommandRequest, @Req() req: AuthedRequest): Promise<AccessCommandView> {
    return this.rpc.call(InventoryRpc.ACCESS_ISSUE, { id, request: body }, rpcContext(req));
  }

  // A literal colon is written '::' in find-my-way paths: these are /api/hosts/<id>/metrics:refresh etc.
  @Post(':id/metrics::refresh')
  @HttpCode(200)
  @RequirePermission(Permissions.HOSTS_WRITE)
  refresh(@Param('id', uuid) id: string, @Req() req: AuthedRequest): Promise<MetricsSnapshotView> {
    return this.rpc.call(InventoryRpc.METRICS_REFRESH, { id }, rpcContext(req));
  }

  @Post(':id/metrics::update')
  @HttpCode(200)
  @RequirePermission(Permissions.HOSTS_WRITE)
  refreshAlias(@Param('id', uuid) id: string, @Req() req: AuthedRequest): Promise<MetricsSnapshotView> {
    return this.refresh(id, req);
  }

  @Get(':id/metrics/latest')
  @RequirePermission(Permissions.HOSTS_READ)
  latest(@Param('id', uuid) id: string, @Req() req: AuthedRequest): Promise<MetricsSnapshotView> {
    return this.rpc.call(InventoryRpc.METRICS_LATEST, { id }, rpcContext(req));
  }

  @Get(':id/metrics::latest')
  @RequirePermission(Permissions.HOSTS_READ)
  latestAlias(@Param('id', uuid) id: string, @Req() req: AuthedRequest): Promise<MetricsSnapshotView> {
    return this.latest(id, req);
  }

  @Get(':id/metrics')
  @RequirePermission(Permissions.HOSTS_READ)
  metrics(@Param('id', uuid) id: string, @Query(new ZodPipe(metricsListSchema)) q: z.infer<typeof metricsListSchema>, @Req() req: AuthedRequest): Promise<Page<MetricsSnapshotView>> {
    return this.rpc.call(InventoryRpc.METRICS_LIST, { ...q, id }, rpcContext(req));
  }
}

@Controller('tags')
export class TagsController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  @RequirePermission(Permissions.HOSTS_READ)
  tags(@Query(new ZodPipe(tagsQuerySchema)) q: TagsQuery, @Req() req: AuthedRequest): Promise<{ items: Array<{ tag: string; count: number }> }> {
    return this.rpc.call(InventoryRpc.TAGS_LIST, q, rpcContext(req));
  }
}
