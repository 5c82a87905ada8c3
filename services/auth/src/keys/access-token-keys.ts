import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { JwkSet } from '@opsdesk/contracts';
import { ed25519PublicJwk, ed25519Thumbprint, parseEd25519PrivateKey, parseEd25519PublicKeyList, signJwt, type AccessTokenSigningKey } from '@opsdesk/authn';
import type { AuthConfig } from '../config/auth.config';

/**
 * Auth's access-token keys: the one signing key (auth is its only holder) and the public key set it
 * publishes (`auth.jwks`): the current key plus JWT_PREVIOUS_PUBLIC_KEYS, so after a rotation the tokens
 * signed with an earlier key keep verifying until they expire. With an HS* JWT_ALGORITHM the signing key is
 * JWT_SECRET and nothing is published.
 */
export class AccessTokenKeys {
  readonly signingKey: AccessTokenSigningKey;
  /** set when no JWT_PRIVATE_KEY was given (development/test): the key lives only in this process */
  readonly ephemeral: boolean;
  private readonly published: JwkSet;

  constructor(config: Pick<AuthConfig, 'JWT_ALGORITHM' | 'JWT_SECRET' | 'JWT_PRIVATE_KEY' | 'JWT_PREVIOUS_PUBLIC_KEYS'>) {
    if (config.JWT_ALGORITHM !== 'EdDSA') {
      this.signingKey = { alg: config.JWT_ALGORITHM, secret: config.JWT_SECRET };
      this.ephemeral = false;
      this.published = { keys: [] };
      return;
    }
    let privateKey: KeyObject;
    if (config.JWT_PRIVATE_KEY) {
      privateKey = parseEd25519PrivateKey(config.JWT_PRIVATE_KEY);
      this.ephemeral = false;
    } else {
      // loadAuthConfig refuses this in staging and production
      privateKey = generateKeyPairSync('ed25519').privateKey;
      this.ephemeral = true;
    }
    const kid = ed25519Thumbprint(privateKey);
    this.signingKey = { alg: 'EdDSA', kid, privateKey };
    const keys = [ed25519PublicJwk(privateKey)];
    for (const pub of parseEd25519PublicKeyList(config.JWT_PREVIOUS_PUBLIC_KEYS)) {
      const jwk = ed25519PublicJwk(pub);
      if (!keys.some((k) => k.kid === jwk.kid)) keys.push(jwk);
    }
    this.published = { keys };
  }

  /** kid of the signing key (EdDSA), null with HS* */
  get kid(): string | null {
    return this.signingKey.alg === 'EdDSA' ? this.signingKey.kid : null;
  }

  jwks(): JwkSet {
    return { keys: this.published.keys.map((k) => ({ ...k })) };
  }

  sign(payload: Record<string, unknown>): string {
    return signJwt(payload, this.signingKey);
  }
}
