import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import {
  AuditRpc,
  Permissions,
  listAuditSchema,
  rpcContextSchema,
  verifyAuditSchema,
  type AuditPublicKeys,
  type AuditRecordView,
  type AuditVerifyResult,
  type Page,
} from '@opsdesk/contracts';
import { parseRpcData } from '@opsdesk/messaging';
import { ChainService } from '../chain/chain.service';
import { VerifyService } from '../verify/verify.service';
import { AuditQueryService } from './audit-query.service';
import { Public, RequirePermission } from '@opsdesk/auth';

const envelope = z.object({ ctx: rpcContextSchema, data: z.unknown() });

/** RPC side of /api/audit (list, verify, public keys); exports stream over the internal HTTP port instead. */
@Controller()
export class AuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly verifier: VerifyService,
    private readonly chain: ChainService,
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

  /** Public keys only (the private key never leaves ChainService); the gateway serves them without a login. */
  @Public()
  @MessagePattern(AuditRpc.PUBLIC_KEYS)
  publicKeys(@Payload() payload: unknown): AuditPublicKeys {
    parseRpcData(envelope, payload);
    return this.chain.publishedKeys();
  }
}
