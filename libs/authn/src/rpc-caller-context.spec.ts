import { generateKeyPairSync } from 'node:crypto';
import { ContextDomains, ContextSigner, ContextVerifier, generateContextKeyPair, parseContextPrivateKey, parseContextPublicKeys, publicKeyOf } from './context-keys';
import { batchedRpcContextSigner, rpcContextSigner, rpcDataDigest, verifyRpcCallerContext } from './rpc-caller-context';

const gateway = generateContextKeyPair();
const artifacts = generateContextKeyPair();
const verifier = ContextVerifier.fromPublicKeys({ gateway: gateway.publicKey, artifacts: artifacts.publicKey });
const sign = rpcContextSigner(new ContextSigner('gateway', gateway.privateKey));
const actor = { user_id: 'u1', email: 'a@b.c', ip: '203.0.113.1', user_agent: 'jest' };
const ctx = { actor, request_id: 'req-1', principal: { user_id: 'u1', role: 'admin' as const } };
const data = { id: '8d7e4c1e-6f7a-4b8e-9c1d-2e3f4a5b6c7d', changes: { note: 'x', n: 0.1 + 0.2, when: new Date(0) } };
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const check = (token: unknown, over: Partial<{ service: string; pattern: string; data: unknown }> = {}) =>
  verifyRpcCallerContext(verifier, { service: 'inventory', pattern: 'inventory.hosts.update', token, data: wire(data), ...over });

describe('signed RPC caller context', () => {
  it('verifies after the data crossed the wire as JSON, and returns only the signed context', () => {
    const v = check(sign('inventory.hosts.update', data, ctx));
    expect(v).toMatchObject({ ok: true, ctx: { actor, request_id: 'req-1', principal: { user_id: 'u1', role: 'admin' } }, claims: { iss: 'gateway', aud: 'inventory' } });
  });

  it.each([
    ['missing', undefined, {}],
    ['malformed', 'not-a-token', {}],
    ['malformed', 'a.b.c', {}],
  ])('refuses a %s context', (reason, token, over) => {
    expect(check(token, over)).toMatchObject({ ok: false, reason });
  });

  it('refuses a forged context: another key, a tampered body, an unknown issuer', () => {
    const forged = rpcContextSigner(new ContextSigner('gateway', generateContextKeyPair().privateKey))('inventory.hosts.update', data, ctx);
    expect(check(forged)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const [body, sig] = sign('inventory.hosts.update', data, ctx).split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...claims, principal: { user_id: 'u1', role: 'admin' }, actor: { ...actor, user_id: 'u9' } })).toString('base64url');
    expect(check(`${tampered}.${sig}`)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const stranger = rpcContextSigner(new ContextSigner('intruder', generateContextKeyPair().privateKey))('inventory.hosts.update', data, ctx);
    expect(check(stranger)).toMatchObject({ ok: false, reason: 'unknown_issuer' });
  });

  it('refuses an expired context and one that claims a long life', () => {
    expect(check(rpcContextSigner(new ContextSigner('gateway', gateway.privateKey), -1)('inventory.hosts.update', data, ctx))).toMatchObject({ ok: false, reason: 'expired' });
    expect(check(rpcContextSigner(new ContextSigner('gateway', gateway.privateKey), 3600_000)('inventory.hosts.update', data, ctx))).toMatchObject({ ok: false, reason: 'lifetime_too_long' });
  });

  it('refuses a context addressed to another service, another pattern or other data', () => {
    expect(check(sign('auth.users.update', data, ctx), { pattern: 'auth.users.update' })).toMatchObject({ ok: false, reason: 'wrong_audience' });
    expect(check(sign('inventory.hosts.delete', data, ctx))).toMatchObject({ ok: false, reason: 'wrong_pattern' });
    expect(check(sign('inventory.hosts.update', data, ctx), { data: { ...wire(data), id: 'another' } })).toMatchObject({ ok: false, reason: 'data_mismatch' });
  });

  it('refuses a context whose actor is not its principal', () => {
    expect(check(sign('inventory.hosts.update', data, { ...ctx, actor: { ...actor, user_id: 'u2' } }))).toMatchObject({ ok: false, reason: 'actor_mismatch' });
    expect(check(sign('inventory.hosts.update', data, { ...ctx, principal: null }))).toMatchObject({ ok: false, reason: 'actor_mismatch' });
  });

  it('keeps the RPC domain apart: the same key signing another domain does not verify as an RPC context', () => {
    const other = new ContextSigner('gateway', gateway.privateKey).sign(ContextDomains.INTERNAL_HTTP, { aud: 'inventory', pat: 'inventory.hosts.update', dig: rpcDataDigest(data) }, 60_000);
    expect(check(other)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});

describe('RPC caller contexts signed in a batch (one signature over a Merkle root)', () => {
  const batched = batchedRpcContextSigner(new ContextSigner('gateway', gateway.privateKey));
  /** n contexts asked for in the same turn, request ids req-0…req-(n-1) */
  const batch = (n: number, sign = batched) => Promise.all([...Array(n).keys()].map((i) => sign('inventory.hosts.update', data, { ...ctx, request_id: `req-${i}` })));

  it.each([2, 3, 5, 8, 13, 257])('a batch of %i: every token verifies with its own claims and they share one signature', async (n) => {
    const tokens = await batch(n);
    const v = tokens.map((t) => check(t));
    expect(v.map((r) => (r.ok ? r.ctx.request_id : r.reason))).toEqual([...Array(n).keys()].map((i) => `req-${i}`));
    // 257 is more than one batch holds (256): a batch and a lone (plain) token, two signatures
    expect(new Set(tokens.map((t) => t.split('.')[1])).size).toBe(n > 256 ? 2 : 1);
    expect(tokens.filter((t) => t.split('.').length === 3)).toHaveLength(Math.min(n, 256));
  });

  it('a lone request in its turn gets a plain token', async () => {
    const [token] = await batch(1);
    expect(token.split('.')).toHaveLength(2);
    expect(check(token)).toMatchObject({ ok: true, ctx: { request_id: 'req-0' } });
  });

  it('refuses a tampered body, another token\'s body on a proof, a tampered proof, and a foreign key', async () => {
    const tokens = await batch(5);
    const [body, sig, proof] = tokens[2].split('.');
    const claims = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    const tampered = Buffer.from(JSON.stringify({ ...claims, principal: { user_id: 'u9', role: 'admin' }, actor: { ...actor, user_id: 'u9' } })).toString('base64url');
    expect(check(`${tampered}.${sig}.${proof}`)).toMatchObject({ ok: false, reason: 'bad_signature' });
    // the body of token 3 with the proof of token 2: its leaf does not lead to the signed root
    expect(check(`${tokens[3].split('.')[0]}.${sig}.${proof}`)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const p = Buffer.from(proof, 'base64url');
    p[p.length - 1] ^= 1;
    expect(check(`${body}.${sig}.${p.toString('base64url')}`)).toMatchObject({ ok: false, reason: 'bad_signature' });
    // a proof cut short, or claiming an index outside its tree, does not fit a tree at all
    expect(check(`${body}.${sig}.${Buffer.from(proof, 'base64url').subarray(0, 36).toString('base64url')}`)).toMatchObject({ ok: false });
    const outside = Buffer.from(proof, 'base64url');
    outside.writeUInt16BE(9, 2);
    expect(check(`${body}.${sig}.${outside.toString('base64url')}`)).toMatchObject({ ok: false, reason: 'malformed' });
    const forged = await batch(3, batchedRpcContextSigner(new ContextSigner('gateway', generateContextKeyPair().privateKey)));
    expect(check(forged[1])).toMatchObject({ ok: false, reason: 'bad_signature' });
    // a root verified once does not make another root's tokens pass
    expect(check(tokens[0])).toMatchObject({ ok: true });
    expect(check(`${tampered}.${sig}.${proof}`)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('keeps every per-context check: audience, pattern, data, expiry, and the signing domain', async () => {
    const [a, b] = await Promise.all([batched('auth.users.update', data, ctx), batched('inventory.hosts.delete', data, ctx)]);
    expect(check(a, { pattern: 'auth.users.update' })).toMatchObject({ ok: false, reason: 'wrong_audience' });
    expect(check(b)).toMatchObject({ ok: false, reason: 'wrong_pattern' });
    expect(check(b, { pattern: 'inventory.hosts.delete', data: { other: true } })).toMatchObject({ ok: false, reason: 'data_mismatch' });
    const expired = await batch(2, batchedRpcContextSigner(new ContextSigner('gateway', gateway.privateKey), -1));
    expect(check(expired[0])).toMatchObject({ ok: false, reason: 'expired' });
    const tokens = await batch(2);
    expect(verifier.verify(ContextDomains.INTERNAL_HTTP, tokens[0])).toMatchObject({ ok: false, reason: 'bad_signature' });
  });
});

describe('context keys', () => {
  it('parse base64 DER and PEM, derive the public key, and refuse other key types', () => {
    const pem = parseContextPrivateKey(gateway.privateKey).export({ format: 'pem', type: 'pkcs8' }).toString();
    expect(publicKeyOf(pem)).toBe(gateway.publicKey);
    expect(parseContextPublicKeys(` ${gateway.publicKey} , ${artifacts.publicKey} `)).toHaveLength(2);
    expect(() => parseContextPrivateKey(Buffer.from('garbage').toString('base64'))).toThrow();
    // an EC key is not an Ed25519 key
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64');
    expect(() => parseContextPrivateKey(ec)).toThrow(/Ed25519/);
  });
});
