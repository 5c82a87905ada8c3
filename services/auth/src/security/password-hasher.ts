import { Inject, Injectable } from '@nestjs/common';
import * as argon2 from 'argon2';
import { AUTH_CONFIG, type AuthConfig } from '../config/auth.config';

/** Argon2id with the OWASP parameters (19 MiB, t=2, p=1 by default; configurable upwards). */
@Injectable()
export class PasswordHasher {
  private readonly options: argon2.HashOptions & { raw?: false };
  private dummyHash: Promise<string> | null = null;

  constructor(@Inject(AUTH_CONFIG) config: AuthConfig) {
    this.options = {
      type: argon2.argon2id,
      memoryCost: config.ARGON2_MEMORY_KIB,
      timeCost: config.ARGON2_TIME_COST,
      parallelism: config.ARGON2_PARALLELISM,
    };
  }

  hash(password: string): Promise<string> {
    return argon2.hash(password, this.options);
  }

  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch {
      return false;
    }
  }

  /** Spends the same time as a real verification, so an unknown email cannot be told apart by timing. */
  async burn(password: string): Promise<void> {
    this.dummyHash ??= this.hash('opsdesk-timing-equaliser-password');
    await this.verify(await this.dummyHash, password);
  }
}
