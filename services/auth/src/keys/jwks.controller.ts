import { Controller } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { AUTH_JWKS_PATTERN, type JwkSet } from '@opsdesk/contracts';
import { AccessTokenKeys } from './access-token-keys';

@Controller()
export class JwksController {
  constructor(private readonly keys: AccessTokenKeys) {}

  /** Public keys for access-token verification (public data: no caller context is needed or read). */
  @MessagePattern(AUTH_JWKS_PATTERN)
  jwks(): JwkSet {
    return this.keys.jwks();
  }
}
