import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import type { Role, UserView } from '@opsdesk/contracts';

@Entity({ name: 'users' })
export class User {
  @PrimaryGeneratedColumn('uuid') id!: string;
  @Column('text') email!: string;
  @Column('text', { name: 'password_hash' }) passwordHash!: string;
  @Column('text') role!: Role;
  @Column('boolean', { name: 'is_active' }) isActive!: boolean;
  @Column('boolean', { name: 'mfa_enabled' }) mfaEnabled!: boolean;
  @Column('text', { name: 'mfa_secret_enc', nullable: true }) mfaSecretEnc!: string | null;
  @Column('text', { name: 'mfa_pending_secret_enc', nullable: true }) mfaPendingSecretEnc!: string | null;
  @Column('bigint', { name: 'mfa_last_step', nullable: true }) mfaLastStep!: string | null;
  @Column('int', { name: 'failed_logins' }) failedLogins!: number;
  @Column('timestamptz', { name: 'locked_until', nullable: true }) lockedUntil!: Date | null;
  /** wrong second factors (TOTP or recovery code) after a correct password; their lock has no bypass */
  @Column('int', { name: 'mfa_failures' }) mfaFailures!: number;
  @Column('timestamptz', { name: 'mfa_locked_until', nullable: true }) mfaLockedUntil!: Date | null;
  @Column('timestamptz', { name: 'created_at' }) createdAt!: Date;
  @Column('timestamptz', { name: 'updated_at' }) updatedAt!: Date;
  @Column('timestamptz', { name: 'last_login_at', nullable: true }) lastLoginAt!: Date | null;
  @Column('timestamptz', { name: 'password_changed_at' }) passwordChangedAt!: Date;
}

export function toUserView(u: User): UserView {
  return {
    id: u.id,
    email: u.email,
    role: u.role,
    is_active: u.isActive,
    mfa_enabled: u.mfaEnabled,
    created_at: u.createdAt.toISOString(),
    updated_at: u.updatedAt.toISOString(),
    last_login_at: u.lastLoginAt ? u.lastLoginAt.toISOString() : null,
  };
}
