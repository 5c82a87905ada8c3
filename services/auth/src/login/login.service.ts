import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppError, ErrorCodes, EventTypes, untrustedText, type LoginRequest, type RpcContext, type TokenPair, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { Metrics } from '@opsdesk/observability';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';
import { PasswordHasher } from '../security/password-hasher';
import { MfaService } from '../mfa/mfa.service';
import { SessionsService } from '../sessions/sessions.service';
import { User } from '../users/user.entity';

/** The same answer for unknown email, wrong password, locked or inactive account: no enumeration. */
const invalid = () => new AppError(ErrorCodes.INVALID_CREDENTIALS, 'Invalid email or password');

@Injectable()
export class LoginService {
  private readonly logins = Metrics.logins();

  constructor(
    private readonly dataSource: DataSource,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionsService,
    private readonly mfa: MfaService,
    private readonly outbox: OutboxWriter,
    @Inject(AUTH_CONFIG) private readonly config: AuthConfig,
  ) {}

  async login(req: LoginRequest, ctx: RpcContext): Promise<TokenPair> {
    const email = req.email.trim().toLowerCase();
    // Effects (counters, lockout, events) must commit even when the login fails, so the transaction
    // returns the outcome and the error is thrown after commit.
    const outcome = await this.dataSource.transaction(async (m): Promise<{ pair?: TokenPair; error?: AppError; outcome: string }> => {
      const user = await m
        .createQueryBuilder(User, 'u')
        .setLock('pessimistic_write')
        .where('lower(u.email) = :email', { email })
        .getOne();
      // the claimed email is attacker-chosen when no account has it: bounded and sanitised for the trail
      const claimed = user ? user.email : untrustedText(email, 64);
      const failCtx: RpcContext = { ...ctx, actor: { user_id: user?.id ?? null, email: claimed, ip: ctx.actor?.ip ?? null, user_agent: ctx.actor?.user_agent ?? null } };
      const fail = async (reason: string) => {
        await this.outbox.add(m, domainEvent(EventTypes.LOGIN_FAILED, failCtx, { type: 'user', id: user?.id ?? null }, { email: claimed, reason }));
      };
      if (!user) {
        await this.hasher.burn(req.password);
        await fail('unknown_email');
        return { error: invalid(), outcome: 'unknown_email' };
      }
      const passwordOk = await this.hasher.verify(user.passwordHash, req.password);
      const now = new Date();
      const lock = async (kind: 'password' | 'mfa', failures: number) => {
        const until = new Date(now.getTime() + this.config.LOCKOUT_MINUTES * 60_000);
        await m.update(User, { id: user.id }, kind === 'password' ? { failedLogins: 0, lockedUntil: until } : { mfaFailures: 0, mfaLockedUntil: until });
        await this.outbox.add(
          m,
          domainEvent(EventTypes.ACCOUNT_LOCKED, failCtx, { type: 'user', id: user.id }, { user_id: user.id, email: user.email, locked_until: until.toISOString(), failures, factor: kind }),
        );
      };
      // A second-factor lock (wrong TOTP / recovery codes after a correct password) has no bypass: only someone
      // holding the password can cause it, and it is what stops them guessing codes.
      if (user.mfaLockedUntil && user.mfaLockedUntil > now) {
        await fail('locked');
        return { error: invalid(), outcome: 'locked' };
      }
      // A password lock is bypassed by the correct password plus a correct second factor, so an attacker who
      // only knows the email cannot keep an MFA account (an admin's) locked out by failing on purpose.
      const passwordLocked = !!user.lockedUntil && user.lockedUntil > now;
      if (passwordLocked && !(passwordOk && user.mfaEnabled && req.totp_code)) {
        await fail('locked');
        return { error: invalid(), outcome: 'locked' };
      }
      if (!passwordOk) {
        const failures = user.failedLogins + 1;
        await fail('wrong_password');
        if (failures >= this.config.LOCKOUT_THRESHOLD) await lock('password', failures);
        else await m.update(User, { id: user.id }, { failedLogins: failures });
        return { error: invalid(), outcome: 'wrong_password' };
      }
      if (!user.isActive) {
        await fail('inactive');
        return { error: invalid(), outcome: 'inactive' };
      }
      if (user.mfaEnabled) {
        if (!req.totp_code) {
          return { error: new AppError(ErrorCodes.MFA_REQUIRED, 'A TOTP code (totp_code) is required for this account'), outcome: 'mfa_required' };
        }
        const factor = await this.mfa.verifySecondFactor(m, user, req.totp_code);
        if (!factor) {
          // wrong TOTP and wrong recovery codes count towards a lockout like wrong passwords do
          const failures = user.mfaFailures + 1;
          await fail('invalid_mfa_code');
          if (failures >= this.config.LOCKOUT_THRESHOLD) await lock('mfa', failures);
          else await m.update(User, { id: user.id }, { mfaFailures: failures });
          return { error: new AppError(ErrorCodes.MFA_INVALID_CODE, 'Invalid or already used code'), outcome: 'invalid_mfa_code' };
        }
      }
      await m.update(User, { id: user.id }, { failedLogins: 0, lockedUntil: null, mfaFailures: 0, mfaLockedUntil: null, lastLoginAt: now });
      const okCtx: RpcContext = { ...ctx, actor: { ...failCtx.actor!, user_id: user.id, email: user.email } };
      const { pair, sessionId } = await this.sessions.open(m, user, okCtx);
      await this.outbox.add(
        m,
        domainEvent(EventTypes.LOGIN_SUCCEEDED, okCtx, { type: 'user', id: user.id }, { session_id: sessionId, mfa: user.mfaEnabled }),
      );
      return { pair, outcome: 'success' };
    });
    this.logins.inc({ outcome: outcome.outcome });
    if (outcome.error) throw outcome.error;
    return outcome.pair as TokenPair;
  }
}
