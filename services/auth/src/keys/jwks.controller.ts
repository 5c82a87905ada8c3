import { Controller } from '@nestjs/common';
import { AUTH_JWKS_PATTERN, type JwkSet } from '@opsdesk/contracts';
import { Public } from '@opsdesk/authn';
import { AccessTokenKeys } from './access-token-keys';
import { RpcHandler } from '@opsdesk/messaging';

@Controller()
export class JwksController {
  constructor(private readonly keys: AccessTokenKeys) {}

  /** Public keys for access-token verification: public data, asked for by the gateway (still signed by it). */
  @Public()
  @RpcHandler(AUTH_JWKS_PATTERN)
  jwks(): JwkSet {
    return this.keys.jwks();
  }
}
