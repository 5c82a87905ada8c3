import { Controller } from '@nestjs/common';
import { Permissions, AuthRpc, type TokenPair } from '@opsdesk/contracts';
import { SessionsService } from '../sessions/sessions.service';
import { LoginService } from './login.service';
import { Public, RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class LoginController {
  constructor(
    private readonly login: LoginService,
    private readonly sessions: SessionsService,
  ) {}

  @Public() // still only from the gateway: the context must carry its signature
  @RpcHandler(AuthRpc.LOGIN)
  async onLogin({ ctx, data }: RpcInput<typeof AuthRpc.LOGIN>): Promise<TokenPair> {
    return this.login.login(data, ctx);
  }

  @Public() // still only from the gateway: the context must carry its signature
  @RpcHandler(AuthRpc.REFRESH)
  async onRefresh({ ctx, data }: RpcInput<typeof AuthRpc.REFRESH>): Promise<TokenPair> {
    return this.sessions.refresh(data.refresh_token, ctx);
  }

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.LOGOUT)
  async onLogout({ ctx, data }: RpcInput<typeof AuthRpc.LOGOUT>): Promise<{ ok: true }> {
    await this.sessions.logout(data.session_id, ctx);
    return { ok: true };
  }
}
