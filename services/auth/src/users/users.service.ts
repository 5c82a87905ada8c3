import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import {
  AppError,
  ErrorCodes,
  EventTypes,
  RevocationKeys,
  decodeCursor,
  encodeCursor,
  passwordProblems,
  type ChangePasswordRequest,
  type CreateUserRequest,
  type ListUsersRequest,
  type Page,
  type RpcContext,
  type UpdateUserRequest,
  type UserView, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { callerId } from '../common/auth-event';
import { PasswordHasher } from '../security/password-hasher';
import { RevocationService, type RevocationEntry } from '../revocation/revocation.service';
import { SessionsService } from '../sessions/sessions.service';
import { ApiTokensService } from '../tokens/api-tokens.service';
import { User, toUserView } from './user.entity';

const UNIQUE_VIOLATION = '23505';

@Injectable()
export class UsersService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly outbox: OutboxWriter,
    private readonly sessions: SessionsService,
    private readonly revocations: RevocationService,
  ) {}

  async get(id: string): Promise<UserView> {
    const user = await this.dataSource.getRepository(User).findOne({ where: { id } });
    if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
    return toUserView(user);
  }

  async list(q: ListUsersRequest): Promise<Page<UserView> & { total: number }> {
    const qb = this.dataSource.getRepository(User).createQueryBuilder('u');
    if (q.role) qb.andWhere('u.role = :role', { role: q.role });
    if (q.q) qb.andWhere('u.email ILIKE :q', { q: `%${q.q.replace(/[%_\\]/g, (c) => `\\${c}`)}%` });
    const total = await qb.clone().getCount();
    if (q.cursor) {
      const c = decodeCursor<{ t: string; id: string }>(q.cursor);
      if (!c || typeof c.t !== 'string' || typeof c.id !== 'string')
        throw new AppError(ErrorCodes.VALIDATION_FAILED, 'Invalid cursor', [{ field: 'cursor', message: 'is not a cursor from this API' }]);
      qb.andWhere('(u.created_at, u.id) > (:t, :id)', { t: c.t, id: c.id });
    } else if (q.skip) {
      qb.offset(q.skip);
    }
    const rows = await qb.orderBy('u.created_at', 'ASC').addOrderBy('u.id', 'ASC').limit(q.limit + 1).getMany();
    const items = rows.slice(0, q.limit);
    const last = items[items.length - 1];
    return {
      items: items.map(toUserView),
      total,
      next_cursor: rows.length > q.limit && last ? encodeCursor({ t: last.createdAt.toISOString(), id: last.id }) : null,
    };
  }

  async create(req: CreateUserRequest, ctx: RpcContext): Promise<UserView> {
    const hash = await this.hasher.hash(req.password);
    try {
      return await this.dataSource.transaction(async (m) => {
        const now = new Date();
        const user = m.create(User, {
          email: req.email.toLowerCase(),
          passwordHash: hash,
          role: req.role,
          isActive: true,
          mfaEnabled: false,
          failedLogins: 0,
          createdAt: now,
          updatedAt: now,
          passwordChangedAt: now,
        });
        await m.save(user);
        await this.outbox.add(m, domainEvent(EventTypes.USER_CREATED, ctx, { type: 'user', id: user.id }, { user_id: user.id, email: user.email, role: user.role }));
        return toUserView(user);
      });
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION)
        throw new AppError(ErrorCodes.EMAIL_TAKEN, 'A user with this email already exists', [{ field: 'email', message: 'is already taken' }]);
      throw err;
    }
  }

  async update(id: string, req: UpdateUserRequest, ctx: RpcContext): Promise<UserView> {
    try {
      return await this.updateUser(id, req, ctx);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION)
        throw new AppError(ErrorCodes.EMAIL_TAKEN, 'A user with this email already exists', [{ field: 'email', message: 'is already taken' }]);
      throw err;
    }
  }

  private async updateUser(id: string, req: UpdateUserRequest, ctx: RpcContext): Promise<UserView> {
    const me = callerId(ctx);
    const revoke: Array<[string, RevocationEntry]> = [];
    const view = await this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      if (id === me && ((req.role && req.role !== user.role) || req.is_active === false))
        throw new AppError(ErrorCodes.CANNOT_MODIFY_SELF, 'You cannot change your own role or deactivate yourself');
      const before = { role: user.role, is_active: user.isActive, email: user.email };
      const cutoff = Date.now();
      const events = [];
      const email = req.email?.toLowerCase();
      if (email && email !== user.email) {
        // Access tokens carry the email (it is the actor on every event): tokens issued before the change end
        // here, like after a role change, so no event is recorded under the old address afterwards.
        user.email = email;
        revoke.push([RevocationKeys.userCutoff(id), { cutoff_ms: cutoff, reason: EventTypes.USER_UPDATED }]);
      }
      if (req.role && req.role !== user.role) {
        user.role = req.role;
        events.push(domainEvent(EventTypes.USER_ROLE_CHANGED, ctx, { type: 'user', id }, { user_id: id, email: user.email, before: { role: before.role }, after: { role: req.role }, cutoff_ms: cutoff }));
        revoke.push([RevocationKeys.userCutoff(id), { cutoff_ms: cutoff, reason: EventTypes.USER_ROLE_CHANGED }]);
        for (const t of await ApiTokensService.revokeAllOf(m, id)) revoke.push([RevocationKeys.apiToken(t), { reason: EventTypes.USER_ROLE_CHANGED }]);
      }
      if (req.is_active !== undefined && req.is_active !== user.isActive) {
        user.isActive = req.is_active;
        if (!req.is_active) {
          const sids = await this.sessions.revokeAll(m, id, 'deactivated');
          events.push(domainEvent(EventTypes.USER_DEACTIVATED, ctx, { type: 'user', id }, { user_id: id, email: user.email, cutoff_ms: cutoff, session_ids: sids }));
          revoke.push([RevocationKeys.userCutoff(id), { cutoff_ms: cutoff, reason: EventTypes.USER_DEACTIVATED }]);
          for (const t of await ApiTokensService.revokeAllOf(m, id)) revoke.push([RevocationKeys.apiToken(t), { reason: EventTypes.USER_DEACTIVATED }]);
        }
      }
      user.updatedAt = new Date();
      await m.save(user);
      events.push(
        domainEvent(EventTypes.USER_UPDATED, ctx, { type: 'user', id }, {
          user_id: id,
          email: user.email,
          before,
          after: { role: user.role, is_active: user.isActive, email: user.email },
          ...(before.email !== user.email ? { email_changed: true } : {}),
        }),
      );
      await this.outbox.add(m, events);
      return toUserView(user);
    });
    await this.revocations.putNow(revoke);
    return view;
  }

  async delete(id: string, ctx: RpcContext): Promise<void> {
    if (id === callerId(ctx)) throw new AppError(ErrorCodes.CANNOT_MODIFY_SELF, 'You cannot delete yourself');
    const cutoff = Date.now();
    await this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      const sids = await this.sessions.revokeAll(m, id, 'deleted');
      await m.delete(User, { id });
      await this.outbox.add(m, domainEvent(EventTypes.USER_DELETED, ctx, { type: 'user', id }, { user_id: id, email: user.email, role: user.role, cutoff_ms: cutoff, session_ids: sids }));
    });
    await this.revocations.putNow([[RevocationKeys.userCutoff(id), { cutoff_ms: cutoff, reason: EventTypes.USER_DELETED }]]);
  }

  /** Changing the password ends every other session of the user (the current one stays). */
  async changePassword(req: ChangePasswordRequest, sessionId: string | null, ctx: RpcContext): Promise<void> {
    const userId = callerId(ctx);
    const user = await this.dataSource.getRepository(User).findOne({ where: { id: userId } });
    if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
    if (!(await this.hasher.verify(user.passwordHash, req.current_password)))
      throw new AppError(ErrorCodes.WRONG_PASSWORD, 'Current password is wrong', [{ field: 'current_password', message: 'is wrong' }]);
    const problems = passwordProblems(req.new_password, user.email);
    if (req.new_password === req.current_password) problems.push('must differ from the current password');
    if (problems.length)
      throw new AppError(ErrorCodes.WEAK_PASSWORD, 'New password is too weak', problems.map((message) => ({ field: 'new_password', message })));
    const hash = await this.hasher.hash(req.new_password);
    const { sids, tokens } = await this.dataSource.transaction(async (m: EntityManager) => {
      await m.update(User, { id: userId }, { passwordHash: hash, passwordChangedAt: new Date(), updatedAt: new Date() });
      const revoked = await this.sessions.revokeAll(m, userId, 'password_changed', sessionId ?? undefined);
      // a leaked password may have minted tokens: they go with it
      const revokedTokens = await ApiTokensService.revokeAllOf(m, userId);
      await this.outbox.add(
        m,
        domainEvent(EventTypes.PASSWORD_CHANGED, ctx, { type: 'user', id: userId }, { user_id: userId, session_ids: revoked, api_token_ids: revokedTokens }),
      );
      return { sids: revoked, tokens: revokedTokens };
    });
    await this.revocations.putNow([
      ...sids.map((sid): [string, RevocationEntry] => [RevocationKeys.session(sid), { reason: EventTypes.PASSWORD_CHANGED }]),
      ...tokens.map((t): [string, RevocationEntry] => [RevocationKeys.apiToken(t), { reason: EventTypes.PASSWORD_CHANGED }]),
    ]);
  }
}
