import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Permissions, AuditRpc, listAuditSchema, rpcContextSchema, verifyAuditSchema, type AuditRecordView, type AuditVerifyResult, type Page } from '@opsdesk/contracts';
import { parseRpcData } from '@opsdesk/messaging';
import { VerifyService } from '../verify/verify.service';
import { AuditQueryService } from './audit-query.service';
import { RequirePermission } from '@opsdesk/auth';

const envelope = z.object({ ctx: rpcContextSchema, data: z.unknown() });

/** RPC side of /api/audit (list, verify); exports stream over the internal HTTP port instead. */
@Controller()
export class AuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly verifier: VerifyService,
  ) {}

  @RequirePermission(Permissions.AUDIT_READ)
  @MessagePattern(AuditRpc.LIST)
  list(@Payload() payload: unknown): Promise<Page<AuditRecordView>> {
    const env = parseRpcData(envelope, payload);
    return this.query.list(parseRpcData(listAuditSchema, env.data ?? {}));
  }

  @RequirePermission(Permissions.AUDIT_READ)
  @MessagePattern(AuditRpc.VERIFY)
  verify(@Payload() payload: unknown): Promise<AuditVerifyResult> {
    const env = parseRpcData(envelope, payload);
    return this.verifier.verify(parseRpcData(verifyAuditSchema, env.data ?? {}));
  }
}
