import { Controller } from '@nestjs/common';
import {
  AuditRpc,
  Permissions,
  type AuditPublicKeys,
  type AuditRecordView,
  type AuditVerifyResult,
  type Page,
} from '@opsdesk/contracts';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';
import { ChainService } from '../chain/chain.service';
import { VerifyService } from '../verify/verify.service';
import { AuditQueryService } from './audit-query.service';
import { Public, RequirePermission } from '@opsdesk/authn';

/** RPC side of /api/audit (list, verify, public keys); exports stream over the internal HTTP port instead. */
@Controller()
export class AuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly verifier: VerifyService,
    private readonly chain: ChainService,
  ) {}

  @RequirePermission(Permissions.AUDIT_READ)
  @RpcHandler(AuditRpc.LIST)
  list({ data }: RpcInput<typeof AuditRpc.LIST>): Promise<Page<AuditRecordView>> {
    return this.query.list(data);
  }

  @RequirePermission(Permissions.AUDIT_READ)
  @RpcHandler(AuditRpc.VERIFY)
  verify({ data }: RpcInput<typeof AuditRpc.VERIFY>): Promise<AuditVerifyResult> {
    return this.verifier.verify(data);
  }

  /** Public keys only (the private key never leaves ChainService); the gateway serves them without a login. */
  @Public()
  @RpcHandler(AuditRpc.PUBLIC_KEYS)
  publicKeys(): AuditPublicKeys {
    return this.chain.publishedKeys();
  }
}
