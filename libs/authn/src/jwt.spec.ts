import { createHmac, createPublicKey, generateKeyPairSync, sign as edSign, type KeyObject } from 'node:crypto';
import {
  ed25519PublicJwk,
  ed25519Thumbprint,
  parseEd25519PrivateKey,
  parseEd25519PublicKey,
  parseEd25519PublicKeyList,
  publicKeyFromJwk,
  signJwt,
  verifyJwt,
  type JwtVerifyKey,
} from './jwt';
import { verificationOutcome as reason } from './jwt-outcome.spec-helper';

const ISS = 'opsdesk-auth';
const AUD = 'opsdesk-api';
const opts = { issuer: ISS, audience: AUD };
const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const nowSec = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ sub: 'u1', iss: ISS, aud: AUD, iat: nowSec(), exp: nowSec() + 600, ...extra });

function edKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKey, kid: ed25519Thumbprint(publicKey) };
}

describe('EdDSA access tokens', () => {
  const k = edKey();
  const other = edKey();
  const keys = new Map<string, KeyObject>([[k.kid, k.publicKey]]);
  const verifyKey: JwtVerifyKey = { alg: 'EdDSA', resolve: (kid) => keys.get(kid) ?? null };
  const sign = (payload: Record<string, unknown>) => signJwt(payload, { alg: 'EdDSA', kid: k.kid, privateKey: k.privateKey });
  const rawSign = (header: object, payload: object, key = k.privateKey) => {
    const input = `${b64(header)}.${b64(payload)}`;
    return `${input}.${edSign(null, Buffer.from(input), key).toString('base64url')}`;
  };

  it('signs with the kid in the header and verifies', async () => {
    const token = sign(claims());
    expect(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())).toEqual({ alg: 'EdDSA', typ: 'JWT', kid: k.kid });
    await expect(verifyJwt(token, verifyKey, opts)).resolves.toMatchObject({ sub: 'u1' });
  });

  it.each([
    ['alg none', () => `${b64({ alg: 'none', typ: 'JWT', kid: k.kid })}.${b64(claims())}.`, 'algorithm'],
    ['alg none without a signature part', () => `${b64({ alg: 'none' })}.${b64(claims())}`, 'malformed'],
    // the public key (as PEM, and as the JWK x) used as an HMAC secret
    ['HS256 keyed with the public key PEM', () => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: k.kid })}.${b64(claims())}`;
      const pem = k.publicKey.export({ format: 'pem', type: 'spki' }).toString();
      return `${input}.${createHmac('sha256', pem).update(input).digest('base64url')}`;
    }, 'algorithm'],
    ['HS256 keyed with the JWK x', () => {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: k.kid })}.${b64(claims())}`;
      return `${input}.${createHmac('sha256', ed25519PublicJwk(k.publicKey).x).update(input).digest('base64url')}`;
    }, 'algorithm'],
    ['unknown kid', () => rawSign({ alg: 'EdDSA', typ: 'JWT', kid: other.kid }, claims(), other.privateKey), 'unknown_key'],
    ['no kid', () => rawSign({ alg: 'EdDSA', typ: 'JWT' }, claims()), 'unknown_key'],
    ['known kid, another key signed', () => rawSign({ alg: 'EdDSA', typ: 'JWT', kid: k.kid }, claims(), other.privateKey), 'signature'],
    ['wrong issuer', () => sign(claims({ iss: 'evil' })), 'issuer'],
    ['wrong audience', () => sign(claims({ aud: 'other-api' })), 'audience'],
    ['audience list without ours', () => sign(claims({ aud: ['a', 'b'] })), 'audience'],
    ['expired', () => sign(claims({ exp: nowSec() - 1 })), 'expired'],
    ['no exp', () => sign(claims({ exp: undefined })), 'expired'],
    ['not yet valid', () => sign(claims({ nbf: nowSec() + 60 })), 'not_yet_valid'],
    ['crit header', () => rawSign({ alg: 'EdDSA', typ: 'JWT', kid: k.kid, crit: ['exp'] }, claims()), 'malformed'],
    ['tampered payload', () => {
      const [h, , s] = sign(claims()).split('.');
      return `${h}.${b64(claims({ sub: 'admin' }))}.${s}`;
    }, 'signature'],
    ['tampered signature byte', () => {
      const [h, p, s] = sign(claims()).split('.');
      const sig = Buffer.from(s, 'base64url');
      sig[10] ^= 1;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }, 'signature'],
    ['non-canonical signature encoding', () => {
      const [h, p, s] = sign(claims()).split('.');
      // 64 bytes leave 4 spare bits in the last base64url character: same bytes, other text
      const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
      const last = alphabet.indexOf(s[s.length - 1]);
      return `${h}.${p}.${s.slice(0, -1)}${alphabet[last ^ 1]}`;
    }, 'signature'],
    ['not three parts', () => 'abc.def', 'malformed'],
    ['header not JSON', () => `${Buffer.from('nope').toString('base64url')}.${b64(claims())}.AAAA`, 'malformed'],
    ['payload an array', () => rawSign({ alg: 'EdDSA', typ: 'JWT', kid: k.kid }, [1, 2]), 'malformed'],
  ])('%s is refused', async (_name, make, why) => {
    expect(await reason(verifyJwt(make(), verifyKey, opts))).toBe(why);
  });

  it('accepts an audience list that contains ours', async () => {
    await expect(verifyJwt(sign(claims({ aud: ['x', AUD] })), verifyKey, opts)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('refuses an EdDSA token when the verifier is configured for HS256, even signed by a real key', async () => {
    expect(await reason(verifyJwt(sign(claims()), { alg: 'HS256', secret: 'x'.repeat(40) }, opts))).toBe('algorithm');
  });

  it('refuses a resolver that hands back a non-Ed25519 or private key', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    expect(await reason(verifyJwt(sign(claims()), { alg: 'EdDSA', resolve: () => rsa }, opts))).toBe('unknown_key');
    expect(await reason(verifyJwt(sign(claims()), { alg: 'EdDSA', resolve: () => k.privateKey }, opts))).toBe('unknown_key');
  });
});

describe('HS* access tokens (the weaker, guide-compatible mode)', () => {
  const secret = 'an-hs256-secret-long-enough-for-production-xx';
  it('verifies only the configured HMAC algorithm with the right secret', async () => {
    const token = signJwt(claims(), { alg: 'HS256', secret });
    await expect(verifyJwt(token, { alg: 'HS256', secret }, opts)).resolves.toMatchObject({ sub: 'u1' });
    expect(await reason(verifyJwt(token, { alg: 'HS256', secret: `${secret}!` }, opts))).toBe('signature');
    expect(await reason(verifyJwt(signJwt(claims(), { alg: 'HS512', secret }), { alg: 'HS256', secret }, opts))).toBe('algorithm');
    expect(await reason(verifyJwt(`${b64({ alg: 'none' })}.${b64(claims())}.`, { alg: 'HS256', secret }, opts))).toBe('algorithm');
  });
});

describe('keys', () => {
  it('computes the RFC 7638 thumbprint (RFC 8037 appendix A.3 example)', () => {
    const jwk = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    expect(ed25519Thumbprint(key)).toBe('kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k');
  });

  it('reads PEM, PEM with literal \\n, base64 PEM and base64 DER; the kid is the same either way', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const kid = ed25519Thumbprint(publicKey);
    for (const text of [pem, pem.replace(/\n/g, '\\n'), Buffer.from(pem).toString('base64'), privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64')]) {
      expect(ed25519Thumbprint(parseEd25519PrivateKey(text))).toBe(kid);
    }
    const pubPem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const pubDer = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    expect(parseEd25519PublicKeyList(`${pubPem},${pubDer}`).map(ed25519Thumbprint)).toEqual([kid, kid]);
    expect(parseEd25519PublicKeyList('  ')).toEqual([]);
  });

  it('refuses other key types, a private key where a public one is expected, and garbage', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(() => parseEd25519PrivateKey(rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString())).toThrow(/not Ed25519/);
    expect(() => parseEd25519PublicKey(rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString())).toThrow(/not Ed25519/);
    const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(() => parseEd25519PublicKey(ed)).toThrow(/private key/);
    expect(() => parseEd25519PrivateKey('not a key!')).toThrow('must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM');
    expect(() => parseEd25519PrivateKey(Buffer.from('hello').toString('base64'))).toThrow('must be an Ed25519 private key: base64 of PKCS#8 DER, or PEM');
  });

  it('round-trips a published JWK and refuses one whose kid is not its thumbprint', () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const jwk = ed25519PublicJwk(publicKey);
    expect(jwk).toEqual({ kty: 'OKP', crv: 'Ed25519', x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), kid: ed25519Thumbprint(publicKey), alg: 'EdDSA', use: 'sig' });
    expect(publicKeyFromJwk(jwk).kid).toBe(jwk.kid);
    const other = ed25519PublicJwk(generateKeyPairSync('ed25519').publicKey);
    expect(() => publicKeyFromJwk({ ...jwk, kid: other.kid })).toThrow(/thumbprint/);
    expect(() => publicKeyFromJwk({ ...jwk, kty: 'oct', k: 'c2VjcmV0' })).toThrow();
    expect(() => publicKeyFromJwk({ ...jwk, alg: 'HS256' })).toThrow(/alg/);
  });
});
