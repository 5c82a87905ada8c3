import { InternalTokens } from './internal-token';

const claims = {
  principal: { kind: 'jwt' as const, user_id: 'u1', email: 'a@b.c', role: 'operator' as const, sid: 's1' },
  actor: { user_id: 'u1', email: 'a@b.c', ip: '127.0.0.1', user_agent: 'jest' },
  request_id: 'r1',
  method: 'POST',
  path: '/internal/hosts/h1/artifacts',
};

describe('InternalTokens', () => {
  const t = new InternalTokens('s'.repeat(40));

  it('verifies a token for the route it was minted for', () => {
    const token = t.sign(claims);
    expect(t.verify(token, 'post', '/internal/hosts/h1/artifacts')?.principal.user_id).toBe('u1');
  });

  it('refuses another route, another key, a tampered body and an expired token', () => {
    const token = t.sign(claims);
    expect(t.verify(token, 'POST', '/internal/hosts/h2/artifacts')).toBeNull();
    expect(new InternalTokens('k'.repeat(40)).verify(token, 'POST', claims.path)).toBeNull();
    const [body, mac] = token.split('.');
    const evil = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(body, 'base64url').toString()), principal: { ...claims.principal, role: 'admin' } })).toString('base64url');
    expect(t.verify(`${evil}.${mac}`, 'POST', claims.path)).toBeNull();
    expect(t.verify(t.sign(claims, -1), 'POST', claims.path)).toBeNull();
  });
});
