import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Permissions, RpcPatterns, mfaDisableSchema, mfaEnableSchema } from '@opsdesk/contracts';
import { idSchema, unpack } from '../common/rpc-request';
import { MfaService } from './mfa.service';
import { RequirePermission } from '@opsdesk/auth';

@Controller()
export class MfaController {
  constructor(private readonly mfa: MfaService) {}

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.MFA_SETUP)
  setup(@Payload() payload: unknown) {
    const { ctx } = unpack(payload, z.object({}).passthrough());
    return this.mfa.setup(ctx);
  }

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.MFA_ENABLE)
  enable(@Payload() payload: unknown) {
    const { ctx, data } = unpack(payload, mfaEnableSchema);
    return this.mfa.enable(data.code, ctx);
  }

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.MFA_DISABLE)
  async disable(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, mfaDisableSchema);
    await this.mfa.disable(data.code, data.password, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @MessagePattern(RpcPatterns.Auth.USERS_MFA_RESET)
  async reset(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, idSchema);
    await this.mfa.reset(data.id, ctx);
    return { ok: true };
  }
}
