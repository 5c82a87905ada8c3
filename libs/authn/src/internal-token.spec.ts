import { ContextDomains, ContextSigner, ContextVerifier, generateContextKeyPair } from './context-keys';
import { InternalTokenIssuer, InternalTokens } from './internal-token';
import { rpcContextSigner } from './rpc-caller-context';

const claims = {
  principal: { kind: 'jwt' as const, user_id: 'u1', email: 'a@b.c', role: 'operator' as const, sid: 's1' },
  actor: { user_id: 'u1', email: 'a@b.c', ip: '127.0.0.1', user_agent: 'jest' },
  request_id: 'r1',
  aud: 'artifacts',
  method: 'POST',
  path: '/internal/hosts/h1/artifacts',
};

describe('InternalTokens (Ed25519, signed by the gateway context key)', () => {
  const gateway = generateContextKeyPair();
  const issuer = new InternalTokenIssuer(new ContextSigner('gateway', gateway.privateKey));
  const verifierOf = (publicKey: string, audience = 'artifacts') => new InternalTokens(ContextVerifier.fromPublicKeys({ gateway: publicKey }), audience);
  const t = verifierOf(gateway.publicKey);

  it('verifies a token for the service and route it was minted for', () => {
    const token = issuer.sign(claims);
    const v = t.verify(token, 'post', '/internal/hosts/h1/artifacts');
    expect(v?.principal.user_id).toBe('u1');
    expect(v?.iss).toBe('gateway');
  });

  it('gives every token an id of its own (what the receiving service holds to one use), and refuses one without', () => {
    const ids = new Set([0, 1, 2].map(() => t.verify(issuer.sign(claims), 'POST', claims.path)?.jti));
    expect(ids.size).toBe(3);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // signed by the gateway's own key, so only the missing id is wrong with it
    const signer = new ContextSigner('gateway', gateway.privateKey);
    expect(t.verify(signer.sign(ContextDomains.INTERNAL_HTTP, claims, 60_000), 'POST', claims.path)).toBeNull();
    expect(t.verify(signer.sign(ContextDomains.INTERNAL_HTTP, { ...claims, jti: 'short' }, 60_000), 'POST', claims.path)).toBeNull();
    expect(t.verify(signer.sign(ContextDomains.INTERNAL_HTTP, { ...claims, jti: 'an-id-of-sixteen-or-more' }, 60_000), 'POST', claims.path)?.jti).toBe('an-id-of-sixteen-or-more');
  });

  it('accepts a rotated key list that still holds the signing key', () => {
    const other = generateContextKeyPair();
    expect(verifierOf(`${other.publicKey},${gateway.publicKey}`).verify(issuer.sign(claims), 'POST', claims.path)?.request_id).toBe('r1');
  });

  it('refuses another route, another service, another key, a tampered body and an expired token', () => {
    const token = issuer.sign(claims);
    expect(t.verify(token, 'POST', '/internal/hosts/h2/artifacts')).toBeNull();
    expect(t.verify(token, 'GET', claims.path)).toBeNull();
    expect(verifierOf(gateway.publicKey, 'inventory').verify(token, 'POST', claims.path)).toBeNull();
    expect(verifierOf(generateContextKeyPair().publicKey).verify(token, 'POST', claims.path)).toBeNull();
    const [body, sig] = token.split('.');
    const evil = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), principal: { ...claims.principal, role: 'admin' } })).toString('base64url');
    expect(t.verify(`${evil}.${sig}`, 'POST', claims.path)).toBeNull();
    expect(t.verify(issuer.sign(claims, -1), 'POST', claims.path)).toBeNull();
  });

  it('refuses a token whose actor is not its principal, and one signed by a service key', () => {
    expect(t.verify(issuer.sign({ ...claims, actor: { ...claims.actor, user_id: 'u2' } }), 'POST', claims.path)).toBeNull();
    const artifacts = generateContextKeyPair();
    const both = new InternalTokens(ContextVerifier.fromPublicKeys({ gateway: gateway.publicKey, artifacts: artifacts.publicKey }), 'artifacts');
    const bySvc = new InternalTokenIssuer(new ContextSigner('artifacts', artifacts.privateKey)).sign(claims);
    expect(both.verify(bySvc, 'POST', claims.path)).toBeNull();
  });

  it('an RPC caller context never passes as an internal token (separate signing domains)', () => {
    const rpcToken = rpcContextSigner(new ContextSigner('gateway', gateway.privateKey))('artifacts.list', {}, { actor: claims.actor, request_id: 'r1', principal: { user_id: 'u1', role: 'operator' } });
    expect(t.verify(rpcToken, 'POST', claims.path)).toBeNull();
  });
});
