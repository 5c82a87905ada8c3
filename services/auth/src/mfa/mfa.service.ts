import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, IsNull, type EntityManager } from 'typeorm';
import { AppError, ErrorCodes, EventTypes, type RpcContext, domainEvent } from '@opsdesk/contracts';
import { OutboxWriter } from '@opsdesk/messaging';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';
import { callerId } from '../common/auth-event';
import { SecretBox, sha256Hex } from '../security/crypto';
import { PasswordHasher } from '../security/password-hasher';
import { User } from '../users/user.entity';
import { RecoveryCode } from './recovery-code.entity';
import { generateTotpSecret, matchTotpStep, otpauthUrl } from './totp';

export const RECOVERY_CODE_COUNT = 10;

function newRecoveryCode(): string {
  const alphabet = 'abcdefghjkmnpqrstuvwxyz23456789';
  const bytes = randomBytes(10);
  const chars = [...bytes].map((b) => alphabet[b % alphabet.length]);
  return `${chars.slice(0, 5).join('')}-${chars.slice(5).join('')}`;
}

@Injectable()
export class MfaService {
  private readonly box: SecretBox;

  constructor(
    private readonly dataSource: DataSource,
    private readonly outbox: OutboxWriter,
    private readonly hasher: PasswordHasher,
    @Inject(AUTH_CONFIG) config: AuthConfig,
  ) {
    this.box = new SecretBox(config.MFA_ENCRYPTION_KEY ?? config.JWT_SECRET, 'mfa-secret');
  }

  async setup(ctx: RpcContext): Promise<{ secret: string; otpauth_url: string }> {
    const userId = callerId(ctx);
    return this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      if (user.mfaEnabled) throw new AppError(ErrorCodes.MFA_ALREADY_ENABLED, 'MFA is already enabled');
      const secret = generateTotpSecret();
      await m.update(User, { id: userId }, { mfaPendingSecretEnc: this.box.seal(secret), updatedAt: new Date() });
      return { secret, otpauth_url: otpauthUrl(user.email, secret) };
    });
  }

  async enable(code: string, ctx: RpcContext): Promise<{ recovery_codes: string[] }> {
    const userId = callerId(ctx);
    return this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      if (user.mfaEnabled) throw new AppError(ErrorCodes.MFA_ALREADY_ENABLED, 'MFA is already enabled');
      if (!user.mfaPendingSecretEnc) throw new AppError(ErrorCodes.MFA_NOT_SET_UP, 'Call /api/auth/mfa/setup first');
      const secret = this.box.open(user.mfaPendingSecretEnc);
      const step = matchTotpStep(secret, code);
      if (step === null) throw new AppError(ErrorCodes.MFA_CODE_MISMATCH, 'Invalid code', [{ field: 'code', message: 'does not match' }]);
      await m.update(User, { id: userId }, {
        mfaEnabled: true,
        mfaSecretEnc: user.mfaPendingSecretEnc,
        mfaPendingSecretEnc: null,
        mfaLastStep: String(step),
        updatedAt: new Date(),
      });
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
      await m.delete(RecoveryCode, { userId });
      await m.insert(RecoveryCode, codes.map((c) => ({ userId, codeHash: sha256Hex(c) })));
      await this.outbox.add(m, domainEvent(EventTypes.MFA_ENABLED, ctx, { type: 'user', id: userId }, { user_id: userId }));
      return { recovery_codes: codes };
    });
  }

  async disable(code: string, password: string, ctx: RpcContext): Promise<void> {
    const userId = callerId(ctx);
    const result = await this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) return new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      if (!user.mfaEnabled) return new AppError(ErrorCodes.MFA_NOT_ENABLED, 'MFA is not enabled');
      if (!(await this.hasher.verify(user.passwordHash, password)))
        return new AppError(ErrorCodes.WRONG_PASSWORD, 'Password is wrong', [{ field: 'password', message: 'is wrong' }]);
      if (!(await this.verifySecondFactor(m, user, code))) return new AppError(ErrorCodes.MFA_CODE_MISMATCH, 'Invalid or already used code', [{ field: 'code', message: 'does not match' }]);
      await this.clear(m, userId);
      await this.outbox.add(m, domainEvent(EventTypes.MFA_DISABLED, ctx, { type: 'user', id: userId }, { user_id: userId }));
      return null;
    });
    if (result) throw result;
  }

  /** Admin reset: for a user who lost the device and the recovery codes. */
  async reset(userId: string, ctx: RpcContext): Promise<void> {
    await this.dataSource.transaction(async (m) => {
      const user = await m.findOne(User, { where: { id: userId }, lock: { mode: 'pessimistic_write' } });
      if (!user) throw new AppError(ErrorCodes.USER_NOT_FOUND, 'User not found');
      await this.clear(m, userId);
      await this.outbox.add(m, domainEvent(EventTypes.MFA_RESET, ctx, { type: 'user', id: userId }, { user_id: userId, email: user.email }));
    });
  }

  private async clear(m: EntityManager, userId: string): Promise<void> {
    await m.update(User, { id: userId }, { mfaEnabled: false, mfaSecretEnc: null, mfaPendingSecretEnc: null, mfaLastStep: null, updatedAt: new Date() });
    await m.delete(RecoveryCode, { userId });
  }

  /**
   * Checks a TOTP code (refusing any step already used) or a recovery code (each works once).
   * Must run in the transaction that holds the user row lock, so two concurrent uses cannot both pass.
   */
  async verifySecondFactor(m: EntityManager, user: User, code: string): Promise<'totp' | 'recovery' | null> {
    const trimmed = code.trim().toLowerCase();
    if (/^\d{6}$/.test(trimmed)) {
      if (!user.mfaSecretEnc) return null;
      const step = matchTotpStep(this.box.open(user.mfaSecretEnc), trimmed);
      if (step === null) return null;
      if (user.mfaLastStep !== null && step <= Number(user.mfaLastStep)) return null; // replay
      await m.update(User, { id: user.id }, { mfaLastStep: String(step) });
      user.mfaLastStep = String(step);
      return 'totp';
    }
    const rc = await m.findOne(RecoveryCode, { where: { userId: user.id, codeHash: sha256Hex(trimmed), usedAt: IsNull() } });
    if (!rc) return null;
    await m.update(RecoveryCode, { id: rc.id }, { usedAt: new Date() });
    return 'recovery';
  }
}
