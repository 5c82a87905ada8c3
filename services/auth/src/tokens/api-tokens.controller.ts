import { Controller } from '@nestjs/common';
import { Permissions, AuthRpc } from '@opsdesk/contracts';
import { ApiTokensService } from './api-tokens.service';
import { Public, RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.TOKENS_LIST)
  list({ ctx }: RpcInput<typeof AuthRpc.TOKENS_LIST>) {
    return this.tokens.list(ctx);
  }

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.TOKENS_CREATE)
  create({ ctx, data }: RpcInput<typeof AuthRpc.TOKENS_CREATE>) {
    return this.tokens.create(data, ctx);
  }

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.TOKENS_REVOKE)
  async revoke({ ctx, data }: RpcInput<typeof AuthRpc.TOKENS_REVOKE>): Promise<{ ok: true }> {
    await this.tokens.revoke(data.id, ctx);
    return { ok: true };
  }

  @Public() // still only from the gateway: the context must carry its signature
  @RpcHandler(AuthRpc.TOKENS_VERIFY)
  verify({ data }: RpcInput<typeof AuthRpc.TOKENS_VERIFY>) {
    return this.tokens.verify(data.token);
  }
}
