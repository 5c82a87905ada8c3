import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Query, Req } from '@nestjs/common';
import {
  Permissions,
  AuthRpc,
  createUserSchema,
  listUsersSchema,
  updateUserSchema,
  type CreateUserRequest,
  type ListUsersRequest,
  type Page,
  type UpdateUserRequest,
  type UserView,
} from '@opsdesk/contracts';
import { RequirePermission } from '@opsdesk/authn';
import { RpcClient } from '@opsdesk/messaging';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';

@Controller('users')
export class UsersController {
  constructor(private readonly rpc: RpcClient) {}

  @Get()
  @RequirePermission(Permissions.USERS_READ)
  list(@Query(new ZodPipe(listUsersSchema)) query: ListUsersRequest, @Req() req: AuthedRequest): Promise<Page<UserView>> {
    return this.rpc.call(AuthRpc.USERS_LIST, query, rpcContext(req));
  }

  @Post()
  @RequirePermission(Permissions.USERS_WRITE)
  create(@Body(new ZodPipe(createUserSchema)) body: CreateUserRequest, @Req() req: AuthedRequest): Promise<UserView> {
    return this.rpc.call(AuthRpc.USERS_CREATE, body, rpcContext(req));
  }

  @Get(':id')
  @RequirePermission(Permissions.USERS_READ)
  get(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<UserView> {
    return this.rpc.call(AuthRpc.USERS_GET, { id }, rpcContext(req));
  }

  @Patch(':id')
  @RequirePermission(Permissions.USERS_WRITE)
  update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body(new ZodPipe(updateUserSchema)) body: UpdateUserRequest,
    @Req() req: AuthedRequest,
  ): Promise<UserView> {
    return this.rpc.call(AuthRpc.USERS_UPDATE, { id, changes: body }, rpcContext(req));
  }

  @Delete(':id')
  @HttpCode(204)
  @RequirePermission(Permissions.USERS_WRITE)
  async remove(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<void> {
    await this.rpc.call(AuthRpc.USERS_DELETE, { id }, rpcContext(req));
  }

  @Post(':id/mfa/reset')
  @HttpCode(204)
  @RequirePermission(Permissions.USERS_WRITE)
  async resetMfa(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<void> {
    await this.rpc.call(AuthRpc.USERS_MFA_RESET, { id }, rpcContext(req));
  }
}
