import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import {
  AppError,
  ErrorCodes,
  EventTypes,
  JWT_AUDIENCE,
  JWT_ISSUER,
  RevocationKeys,
  type AccessTokenClaims,
  type RpcContext,
  type TokenPair, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';
import { AccessTokenKeys } from '../keys/access-token-keys';
import { randomToken, sha256Hex } from '../security/crypto';
import { RevocationService } from '../revocation/revocation.service';
import { User } from '../users/user.entity';
import { Session } from './session.entity';
import { RefreshToken } from './refresh-token.entity';

/**
 * Sessions and tokens. A session is one login; its refresh tokens form a family. Refresh rotates the
 * token; presenting a token that was already rotated is a replay: the whole family (session) is revoked.
 */
@Injectable()
export class SessionsService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly keys: AccessTokenKeys,
    private readonly outbox: OutboxWriter,
    private readonly revocations: RevocationService,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  private refreshTtlMs(): number {
    return this.config.JWT_REFRESH_EXPIRATION_DAYS * 24 * 3600_000;
  }

  private absoluteEnd(createdAt: Date): Date {
    return new Date(createdAt.getTime() + this.config.SESSION_ABSOLUTE_DAYS * 24 * 3600_000);
  }

  /** An access token never outlives its session's absolute end (`sessionEnd`). */
  accessToken(user: Pick<User, 'id' | 'email' | 'role'>, sid: string, sessionEnd?: Date): { token: string; expiresIn: number } {
    const now = Date.now();
    const full = Math.round(this.config.JWT_EXPIRATION_HOURS * 3600);
    const expiresIn = sessionEnd ? Math.max(1, Math.min(full, Math.floor((sessionEnd.getTime() - now) / 1000))) : full;
    const iat = Math.floor(now / 1000);
    const claims: AccessTokenClaims = {
      sub: user.id,
      sid,
      jti: randomUUID(),
      email: user.email,
      role: user.role,
      iat_ms: now,
      iat,
      exp: iat + expiresIn,
      iss: JWT_ISSUER,
      aud: JWT_AUDIENCE,
    };
    const token = this.keys.sign({ ...claims });
    return { token, expiresIn };
  }

  /** Creates a session with its first refresh token, inside the caller's transaction. */
  async open(manager: EntityManager, user: User, ctx: RpcContext): Promise<{ pair: TokenPair; sessionId: string }> {
    const sessionId = randomUUID();
    const now = new Date();
    await manager.insert(Session, {
      id: sessionId,
      userId: user.id,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(Math.min(now.getTime() + this.refreshTtlMs(), this.absoluteEnd(now).getTime())),
      ip: ctx.actor?.ip ?? null,
      userAgent: ctx.actor?.user_agent?.slice(0, 500) ?? null,
    });
    const refresh = await this.newRefreshToken(manager, sessionId, this.absoluteEnd(now));
    const access = this.accessToken(user, sessionId, this.absoluteEnd(now));
    return { sessionId, pair: { access_token: access.token, refresh_token: refresh, token_type: 'bearer', expires_in: access.expiresIn } };
  }

  private async newRefreshToken(manager: EntityManager, sessionId: string, sessionEnd: Date): Promise<string> {
    const token = `odr_${randomToken(32)}`;
    await manager.insert(RefreshToken, {
      id: randomUUID(),
      sessionId,
      tokenHash: sha256Hex(token),
      createdAt: new Date(),
      expiresAt: new Date(Math.min(Date.now() + this.refreshTtlMs(), sessionEnd.getTime())),
    });
    return token;
  }

  async refresh(refreshToken: string, ctx: RpcContext): Promise<TokenPair> {
    const outcome = await this.dataSource.transaction(async (m) => {
      const rows: Array<{
        id: string;
        session_id: string;
        used_at: Date | null;
        expires_at: Date;
        revoked_at: Date | null;
        session_expires: Date;
        session_created: Date;
        user_id: string;
      }> =
        await m.query(
          `SELECT t.id, t.session_id, t.used_at, t.expires_at, s.revoked_at, s.expires_at AS session_expires, s.created_at AS session_created, s.user_id
             FROM auth.refresh_tokens t JOIN auth.sessions s ON s.id = t.session_id
            WHERE t.token_hash = $1 FOR UPDATE OF t, s`,
          [sha256Hex(refreshToken)],
        );
      const row = rows[0];
      if (!row) return { error: new AppError(ErrorCodes.INVALID_REFRESH_TOKEN, 'Invalid refresh token') };
      const user = await m.findOne(User, { where: { id: row.user_id } });
      const entity = { type: 'user', id: row.user_id };
      const actorCtx: RpcContext = { ...ctx, actor: ctx.actor ? { ...ctx.actor, user_id: row.user_id, email: user?.email ?? null } : null };
      if (row.used_at) {
        // Replay of a rotated token: someone else holds this family. Kill it.
        if (!row.revoked_at) {
          await m.update(Session, { id: row.session_id }, { revokedAt: new Date(), revokedReason: 'refresh_token_reuse' });
          await this.outbox.add(m, domainEvent(EventTypes.SESSION_REUSE_DETECTED, actorCtx, entity, { session_id: row.session_id, user_id: row.user_id }));
        }
        return { error: new AppError(ErrorCodes.REFRESH_TOKEN_REUSED, 'Refresh token was already used; the session has been revoked'), revokeSid: row.session_id };
      }
      const sessionEnd = this.absoluteEnd(row.session_created);
      if (row.revoked_at || row.expires_at < new Date() || row.session_expires < new Date() || sessionEnd <= new Date()) {
        return { error: new AppError(ErrorCodes.INVALID_REFRESH_TOKEN, 'Refresh token expired or revoked') };
      }
      if (!user || !user.isActive) return { error: new AppError(ErrorCodes.INVALID_REFRESH_TOKEN, 'Invalid refresh token') };
      await m.update(RefreshToken, { id: row.id }, { usedAt: new Date() });
      // sliding, but never past the absolute end: refreshing forever does not keep a session alive forever
      const slid = new Date(Math.min(Date.now() + this.refreshTtlMs(), sessionEnd.getTime()));
      await m.update(Session, { id: row.session_id }, { lastUsedAt: new Date(), expiresAt: slid });
      const next = await this.newRefreshToken(m, row.session_id, sessionEnd);
      const access = this.accessToken(user, row.session_id, sessionEnd);
      const pair: TokenPair = { access_token: access.token, refresh_token: next, token_type: 'bearer', expires_in: access.expiresIn };
      return { pair };
    });
    if (outcome.revokeSid) await this.revocations.putNow([[RevocationKeys.session(outcome.revokeSid), { reason: 'refresh_token_reuse' }]]);
    if (outcome.error) throw outcome.error;
    return outcome.pair as TokenPair;
  }

  async logout(sessionId: string, ctx: RpcContext): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const r = await m.update(Session, { id: sessionId, revokedAt: IsNull() }, { revokedAt: new Date(), revokedReason: 'logout' });
      if ((r.affected ?? 0) > 0) {
        await this.outbox.add(m, domainEvent(EventTypes.LOGOUT, ctx, { type: 'user', id: ctx.actor?.user_id ?? null }, { session_id: sessionId }));
      }
    });
    await this.revocations.putNow([[RevocationKeys.session(sessionId), { reason: 'logout' }]]);
  }

  /** Revokes every live session of a user (except one, when given); returns their ids. */
  async revokeAll(m: EntityManager, userId: string, reason: string, exceptSid?: string): Promise<string[]> {
    const result: unknown = await m.query(
      `UPDATE auth.sessions SET revoked_at = now(), revoked_reason = $2
        WHERE user_id = $1 AND revoked_at IS NULL AND ($3::uuid IS NULL OR id <> $3::uuid) RETURNING id`,
      [userId, reason, exceptSid ?? null],
    );
    return returningIds(result);
  }
}

/**
 * The ids of an `UPDATE … RETURNING id` through TypeORM's postgres driver, which answers UPDATE and DELETE with
 * `[rows, rowCount]` (not the rows alone, as for SELECT). Mapping that pair as rows gave `[undefined, undefined]`:
 * the revocation keys written were `sid.undefined`, so a password change left the other sessions' access tokens
 * working at the gateway until they expired.
 */
export function returningIds(result: unknown): string[] {
  const rows = Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number' ? result[0] : result;
  return Array.isArray(rows) ? rows.map((r: { id: string }) => r.id) : [];
}
