import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { z } from 'zod';
import { Permissions, RpcPatterns, loginRequestSchema, refreshRequestSchema, type TokenPair } from '@opsdesk/contracts';
import { unpack } from '../common/rpc-request';
import { SessionsService } from '../sessions/sessions.service';
import { LoginService } from './login.service';
import { Public, RequirePermission } from '@opsdesk/auth';

@Controller()
export class LoginController {
  constructor(
    private readonly login: LoginService,
    private readonly sessions: SessionsService,
  ) {}

  @Public() // still only from the gateway: the context must carry its signature
  @MessagePattern(RpcPatterns.Auth.LOGIN)
  async onLogin(@Payload() payload: unknown): Promise<TokenPair> {
    const { ctx, data } = unpack(payload, loginRequestSchema);
    return this.login.login(data, ctx);
  }

  @Public() // still only from the gateway: the context must carry its signature
  @MessagePattern(RpcPatterns.Auth.REFRESH)
  async onRefresh(@Payload() payload: unknown): Promise<TokenPair> {
    const { ctx, data } = unpack(payload, refreshRequestSchema);
    return this.sessions.refresh(data.refresh_token, ctx);
  }

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.LOGOUT)
  async onLogout(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, z.object({ session_id: z.string().uuid() }));
    await this.sessions.logout(data.session_id, ctx);
    return { ok: true };
  }
}
