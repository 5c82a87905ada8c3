import { Controller } from '@nestjs/common';
import { Permissions, AuthRpc, type UserView } from '@opsdesk/contracts';
import { callerId } from '../common/auth-event';
import { UsersService } from './users.service';
import { RequirePermission } from '@opsdesk/authn';
import { RpcHandler, type RpcInput } from '@opsdesk/messaging';

@Controller()
export class UsersController {
  constructor(private readonly users: UsersService) {}

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.ME)
  async me({ ctx }: RpcInput<typeof AuthRpc.ME>): Promise<UserView> {
    return this.users.get(callerId(ctx));
  }

  @RequirePermission(Permissions.SELF)
  @RpcHandler(AuthRpc.CHANGE_PASSWORD)
  async changePassword({ ctx, data }: RpcInput<typeof AuthRpc.CHANGE_PASSWORD>): Promise<{ ok: true }> {
    await this.users.changePassword(data, data.session_id ?? null, ctx);
    return { ok: true };
  }

  @RequirePermission(Permissions.USERS_READ)
  @RpcHandler(AuthRpc.USERS_LIST)
  list({ data }: RpcInput<typeof AuthRpc.USERS_LIST>) {
    return this.users.list(data);
  }

  @RequirePermission(Permissions.USERS_READ)
  @RpcHandler(AuthRpc.USERS_GET)
  get({ data }: RpcInput<typeof AuthRpc.USERS_GET>): Promise<UserView> {
    return this.users.get(data.id);
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @RpcHandler(AuthRpc.USERS_CREATE)
  create({ ctx, data }: RpcInput<typeof AuthRpc.USERS_CREATE>): Promise<UserView> {
    return this.users.create(data, ctx);
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @RpcHandler(AuthRpc.USERS_UPDATE)
  update({ ctx, data }: RpcInput<typeof AuthRpc.USERS_UPDATE>): Promise<UserView> {
    return this.users.update(data.id, data.changes, ctx);
  }

  @RequirePermission(Permissions.USERS_WRITE)
  @RpcHandler(AuthRpc.USERS_DELETE)
  async delete({ ctx, data }: RpcInput<typeof AuthRpc.USERS_DELETE>): Promise<{ ok: true }> {
    await this.users.delete(data.id, ctx);
    return { ok: true };
  }
}
