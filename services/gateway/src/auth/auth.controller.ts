import { Body, Controller, Delete, Get, Header, HttpCode, Inject, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import {
  AppError,
  ErrorCodes,
  RevocationKeys,
  RolePermissions,
  AuthRpc,
  changePasswordSchema,
  createApiTokenSchema,
  loginRequestSchema,
  logoutRequestSchema,
  mfaDisableSchema,
  mfaEnableSchema,
  refreshRequestSchema,
  type ApiTokenView,
  type ChangePasswordRequest,
  type CreateApiTokenRequest,
  type JwkSet,
  type LoginRequest,
  type MeView,
  type RefreshRequest,
  type TokenPair,
} from '@opsdesk/contracts';
import { AccessTokenVerifier, CurrentPrincipal, Public, RevocationStore, SessionOnly, type Principal } from '@opsdesk/authn';
import { RpcClient } from '@opsdesk/messaging';
import { rpcContext, type AuthedRequest } from '../common/request-context';
import { ZodPipe } from '../common/zod-body.pipe';
import { AuthAttemptLimit } from '../security/rate-limit.guard';

@Controller('auth')
export class AuthController {
  constructor(
    private readonly rpc: RpcClient,
    @Inject(RevocationStore) private readonly revocations: RevocationStore,
    @Inject(AccessTokenVerifier) private readonly verifier: AccessTokenVerifier,
  ) {}

  @Public()
  @Get('jwks.json')
  @Header('Cache-Control', 'public, max-age=300')
  async jwks(): Promise<JwkSet> {
    if (!this.verifier.ready) await this.verifier.refresh().catch(() => undefined);
    if (!this.verifier.ready) throw new AppError(ErrorCodes.UPSTREAM_UNAVAILABLE, 'Access-token keys are not loaded yet');
    return this.verifier.jwks();
  }

  @Public()
  @AuthAttemptLimit()
  @Post('login')
  @HttpCode(200)
  login(@Body(new ZodPipe(loginRequestSchema)) body: LoginRequest, @Req() req: AuthedRequest): Promise<TokenPair> {
    return this.rpc.call(AuthRpc.LOGIN, body, rpcContext(req));
  }

  @Public()
  @Post('refresh')
  @HttpCode(200)
  refresh(@Body(new ZodPipe(refreshRequestSchema)) body: RefreshRequest, @Req() req: AuthedRequest): Promise<TokenPair> {
    return this.rpc.call(AuthRpc.REFRESH, body, rpcContext(req));
  }

  @SessionOnly()
  @Post('logout')
  @HttpCode(204)
  async logout(@Body(new ZodPipe(logoutRequestSchema)) _body: unknown, @CurrentPrincipal() p: Principal, @Req() req: AuthedRequest): Promise<void> {
    if (!p.sid) throw new AppError(ErrorCodes.VALIDATION_FAILED, 'API tokens have no session; revoke the token instead');
    await this.rpc.call(AuthRpc.LOGOUT, { session_id: p.sid }, rpcContext(req));
    this.revocations.apply(RevocationKeys.session(p.sid));
  }

  @Get('me')
  async me(@Req() req: AuthedRequest): Promise<MeView> {
    const user = await this.rpc.call(AuthRpc.ME, {}, rpcContext(req));
    return { ...user, permissions: [...(RolePermissions[user.role] ?? [])] };
  }

  @AuthAttemptLimit()
  @SessionOnly()
  @Post('password')
  @HttpCode(204)
  async changePassword(
    @Body(new ZodPipe(changePasswordSchema)) body: ChangePasswordRequest,
    @CurrentPrincipal() p: Principal,
    @Req() req: AuthedRequest,
  ): Promise<void> {
    await this.rpc.call(AuthRpc.CHANGE_PASSWORD, { ...body, session_id: p.sid ?? null }, rpcContext(req));
  }

  @SessionOnly()
  @Post('mfa/setup')
  @HttpCode(200)
  mfaSetup(@Req() req: AuthedRequest): Promise<{ secret: string; otpauth_url: string }> {
    return this.rpc.call(AuthRpc.MFA_SETUP, {}, rpcContext(req));
  }

  @AuthAttemptLimit()
  @SessionOnly()
  @Post('mfa/enable')
  @HttpCode(200)
  mfaEnable(@Body(new ZodPipe(mfaEnableSchema)) body: { code: string }, @Req() req: AuthedRequest): Promise<{ recovery_codes: string[] }> {
    return this.rpc.call(AuthRpc.MFA_ENABLE, body, rpcContext(req));
  }

  @AuthAttemptLimit()
  @SessionOnly()
  @Post('mfa/disable')
  @HttpCode(204)
  async mfaDisable(@Body(new ZodPipe(mfaDisableSchema)) body: { code: string; password: string }, @Req() req: AuthedRequest): Promise<void> {
    await this.rpc.call(AuthRpc.MFA_DISABLE, body, rpcContext(req));
  }

  @SessionOnly()
  @Get('tokens')
  listTokens(@Req() req: AuthedRequest): Promise<{ items: ApiTokenView[] }> {
    return this.rpc.call(AuthRpc.TOKENS_LIST, {}, rpcContext(req));
  }

  @SessionOnly()
  @Post('tokens')
  createToken(@Body(new ZodPipe(createApiTokenSchema)) body: CreateApiTokenRequest, @Req() req: AuthedRequest): Promise<ApiTokenView & { token: string }> {
    return this.rpc.call(AuthRpc.TOKENS_CREATE, body, rpcContext(req));
  }

  @SessionOnly()
  @Delete('tokens/:id')
  @HttpCode(204)
  async revokeToken(@Param('id', new ParseUUIDPipe()) id: string, @Req() req: AuthedRequest): Promise<void> {
    await this.rpc.call(AuthRpc.TOKENS_REVOKE, { id }, rpcContext(req));
  }
}
