import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Permissions,
  RpcPatterns,
  changePasswordSchema,
  createUserSchema,
  listUsersSchema,
  updateUserSchema,
  type UserView,
} from '@opsdesk/contracts';
import { z } from 'zod';
import { callerId } from '../common/auth-event';
import { idSchema, sessionRefSchema, unpack } from '../common/rpc-request';
import { UsersService } from './users.service';
import { RequirePermission } from '@opsdesk/auth';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.ME)
  async me(@Payload() payload: unknown): Promise<UserView> {
    const { ctx } = unpack(payload, z.object({}).passthrough());
    return this.users.get(callerId(ctx));
  }

  @RequirePermission(Permissions.SELF)
  @MessagePattern(RpcPatterns.Auth.CHANGE_PASSWORD)
  async changePassword(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, changePasswordSchema.and(sessionRefSchema));
    await this.users.changePassword(data, data.session_id ?? null, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.USERS_READ)
  @MessagePattern(RpcPatterns.Auth.USERS_LIST)
  list(@Payload() payload: unknown) {
    const { data } = unpack(payload, listUsersSchema);
    return this.users.list(data);
  }

  @RequirePermission(Permissions.USERS_READ)
  @MessagePattern(RpcPatterns.Auth.USERS_GET)
  get(@Payload() payload: unknown): Promise<UserView> {
    const { data } = unpack(payload, idSchema);
    return this.users.get(data.id);
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @MessagePattern(RpcPatterns.Auth.USERS_CREATE)
  create(@Payload() payload: unknown): Promise<UserView> {
    const { ctx, data } = unpack(payload, createUserSchema);
    return this.users.create(data, ctx);
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @MessagePattern(RpcPatterns.Auth.USERS_UPDATE)
  update(@Payload() payload: unknown): Promise<UserView> {
    const { ctx, data } = unpack(payload, z.object({ id: z.string().uuid(), changes: updateUserSchema }));
    return this.users.update(data.id, data.changes, ctx);
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @MessagePattern(RpcPatterns.Auth.USERS_DELETE)
  async delete(@Payload() payload: unknown): Promise<{ ok: true }> {
    const { ctx, data } = unpack(payload, idSchema);
    await this.users.delete(data.id, ctx);
    return { ok: true };
  }
}
