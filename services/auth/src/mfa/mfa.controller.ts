import { Controller } from '@nestjs/common';
import { Permissions, AuthRpc } from '@opsdesk/contracts';
import { MfaService } from './mfa.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.MFA_SETUP)
  setup({ ctx }: RpcInput<typeof AuthRpc.MFA_SETUP>) {
    return this.mfa.setup(ctx);
  }

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.MFA_ENABLE)
  enable({ ctx, data }: RpcInput<typeof AuthRpc.MFA_ENABLE>) {
    return this.mfa.enable(data.code, ctx);
  }

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.MFA_DISABLE)
  async disable({ ctx, data }: RpcInput<typeof AuthRpc.MFA_DISABLE>): Promise<{ ok: true }> {
    await this.mfa.disable(data.code, data.password, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @RpcHandler(AuthRpc.USERS_MFA_RESET)
  async reset({ ctx, data }: RpcInput<typeof AuthRpc.USERS_MFA_RESET>): Promise<{ ok: true }> {
    await this.mfa.reset(data.id, ctx);
    return { ok: true };
  }
}
