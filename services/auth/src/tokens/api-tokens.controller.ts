import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Permissions, RpcPatterns, createApiTokenSchema } from '@opsdesk/contracts';
import { idSchema, unpack } from '../common/rpc-request';
import { ApiTokensService } from './api-tokens.service';
import { Public, RequirePermission } from '@opsdesk/auth';

@Controller()
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.TOKENS_LIST)
  list(@Payload() payload: unknown) {
    const { ctx } = unpack(payload, z.object({}).passthrough());
    return this.tokens.list(ctx);
  }

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.TOKENS_CREATE)
  create(@Payload() payload: unknown) {
    const { ctx, data } = unpack(payload, createApiTokenSchema);
    return this.tokens.create(data, ctx);
  }

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.TOKENS_REVOKE)
  async revoke(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, idSchema);
    await this.tokens.revoke(data.id, ctx);
    return { ok: true };
  }

  @Public() // still only from the gateway: the context must carry its signature
  @MessagePattern(RpcPatterns.Auth.TOKENS_VERIFY)
  verify(@Payload() payload: unknown) {
    const { data } = unpack(payload, z.object({ token: z.string().min(10).max(200) }));
    return this.tokens.verify(data.token);
  }
}
