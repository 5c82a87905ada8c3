import { Controller, Get, Inject, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import {
  AuditRpc,
  Permissions,
  auditFiltersSchema,
  listAuditSchema,
  verifyAuditSchema,
  type AuditFilters,
  type AuditPublicKeys,
  type AuditRecordView,
  type AuditVerifyResult,
  type ListAuditRequest,
  type Page,
  type VerifyAuditRequest,
} from '@opsdesk/contracts';
import { Public, RequirePermission } from '@opsdesk/authn';
import { RpcClient } from '@opsdesk/messaging';
import { InternalProxy } from '../common/internal-proxy';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

/** Verifying millions of records takes longer than an ordinary request. */
const VERIFY_TIMEOUT_MS = 15 * 60_000;

@Controller('audit')
export class AuditController {
  constructor(
    private readonly rpc: RpcClient,
    private readonly proxy: InternalProxy,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  @RequirePermission(Permissions.AUDIT_READ)
  list(@Query(new ZodPipe(listAuditSchema)) query: ListAuditRequest, @Req() req: AuthedRequest): Promise<Page<AuditRecordView>> {
    return this.rpc.call(AuditRpc.LIST, query, rpcContext(req));
  }

  @Get('verify')
  @RequirePermission(Permissions.AUDIT_READ)
  verify(@Query(new ZodPipe(verifyAuditSchema)) query: VerifyAuditRequest, @Req() req: AuthedRequest): Promise<AuditVerifyResult> {
    return this.rpc.call(AuditRpc.VERIFY, query, rpcContext(req), VERIFY_TIMEOUT_MS);
  }

  /**
   * Public like a JWKS (SPEC §4): verifying needs only these keys, and they let nobody sign. Clients should
   * pin the key they fetched once (or get it out of band): a compromised system could serve another one.
   */
  @Public()
  @Get('public-key')
  publicKeys(@Req() req: AuthedRequest): Promise<AuditPublicKeys> {
    return this.rpc.call(AuditRpc.PUBLIC_KEYS, {}, rpcContext(req));
  }

  @Get('export.csv')
  @RequirePermission(Permissions.AUDIT_READ)
  exportCsv(@Query(new ZodPipe(auditFiltersSchema)) _filters: AuditFilters, @Req() req: AuthedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwardExport('csv', req, reply);
  }

  @Get('export.jsonl')
  @RequirePermission(Permissions.AUDIT_READ)
  exportJsonl(@Query(new ZodPipe(auditFiltersSchema)) _filters: AuditFilters, @Req() req: AuthedRequest, @Res() reply: FastifyReply): Promise<void> {
    return this.forwardExport('jsonl', req, reply);
  }

  /** Validated above; the raw query string is forwarded so the service parses exactly what the client sent. */
  private forwardExport(format: 'csv' | 'jsonl', req: AuthedRequest, reply: FastifyReply): Promise<void> {
    const raw = req.raw.url ?? req.url;
    const q = raw.includes('?') ? raw.slice(raw.indexOf('?') + 1) : '';
    return this.proxy.forward(req, reply, this.config.AUDIT_URL, `/internal/audit/export.${format}`, { query: q, method: 'GET' });
  }
}
