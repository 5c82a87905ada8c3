import { generateKeyPairSync } from 'node:crypto';
import { JWT_AUDIENCE, JWT_ISSUER, type JwkSet } from '@opsdesk/contracts';
import { JwksCache } from './jwks-cache';
import { ed25519PublicJwk, signJwt } from './jwt';
import { AccessTokenVerifier } from './jwt.strategy';
import { verificationOutcome as reason } from './jwt-outcome.spec-helper';

function edKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const jwk = ed25519PublicJwk(publicKey);
  return { privateKey, jwk, kid: jwk.kid };
}

const nowSec = () => Math.floor(Date.now() / 1000);

describe('AccessTokenVerifier: verified tokens are remembered, never beyond their key or expiry', () => {
  const a = edKey();
  const b = edKey();
  let set: JwkSet;
  let verifier: AccessTokenVerifier;
  let cache: JwksCache;
  const token = (kid: string, privateKey: ReturnType<typeof edKey>['privateKey'], exp = nowSec() + 600) =>
    signJwt({ sub: 'u1', iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: nowSec(), exp }, { alg: 'EdDSA', kid, privateKey });

  beforeEach(async () => {
    set = { keys: [a.jwk, b.jwk] };
    cache = new JwksCache({ fetch: async () => set, refreshIntervalMs: 3_600_000, minRefreshGapMs: 0 });
    await cache.refresh();
    verifier = AccessTokenVerifier.fromJwks(cache);
  });
  afterEach(() => {
    cache.stop();
    jest.restoreAllMocks();
  });

  it('answers a second verification of the same token with the same claims (a copy the caller may not alter)', async () => {
    const t = token(a.kid, a.privateKey);
    const first = await verifier.verify(t);
    first.sub = 'tampered';
    const second = await verifier.verify(t);
    expect(second.sub).toBe('u1');
    expect(second.exp).toBe(first.exp);
  });

  it('refuses a remembered token once its key is no longer published', async () => {
    const t = token(a.kid, a.privateKey);
    await verifier.verify(t);
    set = { keys: [b.jwk] };
    await cache.refresh();
    expect(await reason(verifier.verify(t))).toBe('unknown_key');
    // the other key's tokens still pass
    expect(await reason(verifier.verify(token(b.kid, b.privateKey)))).toBe('accepted');
  });

  it('refuses a remembered token once it expired', async () => {
    const exp = nowSec() + 60;
    const t = token(a.kid, a.privateKey, exp);
    await verifier.verify(t);
    jest.spyOn(Date, 'now').mockReturnValue(exp * 1000 + 1);
    expect(await reason(verifier.verify(t))).toBe('expired');
  });

  it('never remembers a refused token', async () => {
    const forged = token(a.kid, b.privateKey); // a's kid, b's signature
    expect(await reason(verifier.verify(forged))).toBe('signature');
    expect(await reason(verifier.verify(forged))).toBe('signature');
  });
});
