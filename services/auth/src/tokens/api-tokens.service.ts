import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  API_TOKEN_PREFIX,
  AppError,
  ErrorCodes,
  EventTypes,
  RevocationKeys,
  maxScopeFor,
  scopeRank,
  type ApiTokenScope,
  type ApiTokenView,
  type CreateApiTokenRequest,
  type RpcContext,
  type VerifiedPrincipal, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { callerId } from '../common/auth-event';
import { randomToken, sha256Hex } from '../security/crypto';
import { RevocationService } from '../revocation/revocation.service';
import { returningIds } from '../sessions/sessions.service';
import { User } from '../users/user.entity';
import { ApiToken, toApiTokenView } from './api-token.entity';

/** Personal API tokens: shown once, stored as SHA-256 (they are 256-bit random, so no slow hash is needed). */
@Injectable()
export class ApiTokensService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly revocations: RevocationService,
  ) {}

  async list(ctx: RpcContext): Promise<{ items: ApiTokenView[] }> {
    const rows = await this.dataSource.getRepository(ApiToken).find({ where: { userId: callerId(ctx) }, order: { createdAt: 'DESC' } });
    return { items: rows.map(toApiTokenView) };
  }

  async create(req: CreateApiTokenRequest, ctx: RpcContext): Promise<ApiTokenView & { token: string }> {
    const userId = callerId(ctx);
    const token = `${API_TOKEN_PREFIX}${randomToken(32)}`;
    return this.dataSource.transaction(async (m) => {
      // the owner's current role, not the one in the caller's context: a token never outranks its owner
      const owner = await m.findOne(User, { where: { id: userId } });
      if (!owner) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      if (scopeRank(req.scope) > scopeRank(maxScopeFor(owner.role)))
        throw new AppError(ErrorCodes.API_TOKEN_SCOPE_TOO_WIDE, `A ${owner.role} can create tokens up to scope ${maxScopeFor(owner.role)}`, [
          { field: 'scope', message: `must be at most ${maxScopeFor(owner.role)}` },
        ]);
      const row = m.create(ApiToken, {
        id: randomUUID(),
        userId,
        name: req.name,
        prefix: token.slice(0, 12),
        scope: req.scope,
        tokenHash: sha256Hex(token),
        createdAt: new Date(),
        expiresAt: new Date(Date.now() + req.expires_in_days * 24 * 3600_000),
        lastUsedAt: null,
        revokedAt: null,
      });
      await m.insert(ApiToken, row);
      await this.outbox.add(m, domainEvent(EventTypes.TOKEN_CREATED, ctx, { type: 'api_token', id: row.id }, { token_id: row.id, name: row.name, prefix: row.prefix, scope: row.scope, expires_at: row.expiresAt.toISOString() }));
      return { ...toApiTokenView(row), token };
    });
  }

  /**
   * Revokes every live token of a user inside the caller's transaction (password change, deactivation, role
   * change); the caller publishes the returned revocation keys after commit so every gateway drops them at once.
   */
  static async revokeAllOf(m: EntityManager, userId: string): Promise<string[]> {
    return returningIds(
      await m.query(`UPDATE auth.api_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL RETURNING id`, [userId]),
    );
  }

  async revoke(id: string, ctx: RpcContext): Promise<void> {
    const userId = callerId(ctx);
    await this.dataSource.transaction(async (m) => {
      const row = await m.findOne(ApiToken, { where: { id, userId }, lock: { mode: 'pessimistic_write' } });
      if (!row) throw new AppError(ErrorCodes.API_TOKEN_NOT_FOUND, 'API token not found');
      if (row.revokedAt) return;
      await m.update(ApiToken, { id }, { revokedAt: new Date() });
      await this.outbox.add(m, domainEvent(EventTypes.TOKEN_REVOKED, ctx, { type: 'api_token', id }, { token_id: id, name: row.name, prefix: row.prefix }));
    });
    await this.revocations.putNow([[RevocationKeys.apiToken(id), { reason: EventTypes.TOKEN_REVOKED }]]);
  }

  /** Called by the gateway for `Authorization: Bearer odp_…`. */
  async verify(token: string): Promise<VerifiedPrincipal> {
    if (!token.startsWith(API_TOKEN_PREFIX)) throw new AppError(ErrorCodes.INVALID_TOKEN, 'Invalid API token');
    const rows: Array<{ id: string; user_id: string; scope: ApiTokenScope; expires_at: Date; revoked_at: Date | null; last_used_at: Date | null }> = await this.dataSource.query(
      `SELECT id, user_id, scope, expires_at, revoked_at, last_used_at FROM auth.api_tokens WHERE token_hash = $1`,
      [sha256Hex(token)],
    );
    const row = rows[0];
    if (!row || row.revoked_at || row.expires_at < new Date()) throw new AppError(ErrorCodes.INVALID_TOKEN, 'Invalid, expired or revoked API token');
    const user = await this.dataSource.getRepository(User).findOne({ where: { id: row.user_id } });
    if (!user || !user.isActive) throw new AppError(ErrorCodes.INVALID_TOKEN, 'Invalid, expired or revoked API token');
    // last_used_at is informational: at most one write a minute per token.
    if (!row.last_used_at || Date.now() - row.last_used_at.getTime() > 60_000) {
      await this.dataSource.query(`UPDATE auth.api_tokens SET last_used_at = now() WHERE id = $1`, [row.id]);
    }
    // the scope as created, capped by the owner's role today (a demoted owner's admin token acts as write/read)
    const scope = scopeRank(row.scope) <= scopeRank(maxScopeFor(user.role)) ? row.scope : maxScopeFor(user.role);
    return { user_id: user.id, email: user.email, role: user.role, token_id: row.id, scope, expires_at: row.expires_at.toISOString() };
  }
}
