import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { generateEd25519KeyPair, parseEd25519PrivateKey, parseEd25519PublicKeyList } from '@opsdesk/config';

/**
 * Ed25519 keys for caller contexts (signed RPC contexts and internal HTTP tokens).
 *
 * Why asymmetric: with a shared secret every service able to check a context could also mint one, so
 * holding any one service (or its environment) would mean holding them all. Here only the signer (the
 * gateway; a service for its own outgoing calls) holds a private key, receivers hold public keys.
 *
 * Key text is base64 DER (PKCS#8 private, SPKI public: one line, fits an env variable) or PEM.
 * Public keys may be a comma-separated list, so a new key can be rolled out before the old one is retired.
 */
export interface ContextKeyPair {
  privateKey: string;
  publicKey: string;
}

export function generateContextKeyPair(): ContextKeyPair {
  return generateEd25519KeyPair();
}

/** Parses a private key (the one reader of configured keys, libs/config ed25519-keys.ts). */
export function parseContextPrivateKey(text: string): KeyObject {
  return parseEd25519PrivateKey(text);
}

/** Parses one or more (comma-separated) public keys; at least one. */
export function parseContextPublicKeys(text: string): KeyObject[] {
  const keys = parseEd25519PublicKeyList(text);
  if (keys.length === 0) throw new Error('must name at least one public key');
  return keys;
}

export function publicKeyOf(privateKey: string | KeyObject): string {
  const key = typeof privateKey === 'string' ? parseContextPrivateKey(privateKey) : privateKey;
  return createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('base64');
}

/**
 * Signing domains: the same key signs RPC contexts and internal HTTP tokens, so every signature covers
 * its domain too and one can never be passed off as the other.
 */
export const ContextDomains = {
  RPC: 'opsdesk-rpc-context.v1',
  INTERNAL_HTTP: 'opsdesk-internal-http.v1',
} as const;
export type ContextDomain = (typeof ContextDomains)[keyof typeof ContextDomains];

/** Longest lifetime a receiver accepts, whatever the signer wrote (a context is meant to live for seconds). */
export const MAX_CONTEXT_LIFETIME_MS = 5 * 60_000;
/** Clock skew tolerated for `iat` in the future. */
export const CONTEXT_CLOCK_SKEW_MS = 30_000;

interface SignedClaims {
  iss: string;
  iat: number;
  exp: number;
}

/** Holds one private key and signs claims as `issuer`: `<base64url JSON>.<base64url Ed25519 signature>`. */
export class ContextSigner {
  private readonly key: KeyObject;
  private queue: Array<{ domain: ContextDomain; body: string; resolve: (token: string) => void; reject: (err: unknown) => void }> = [];

  constructor(
    readonly issuer: string,
    privateKey: string | KeyObject,
  ) {
    this.key = typeof privateKey === 'string' ? parseContextPrivateKey(privateKey) : privateKey;
  }

  sign<C extends object>(domain: ContextDomain, claims: C, ttlMs: number): string {
    const body = this.encode(claims, ttlMs);
    return `${body}.${this.signature(`${domain}.${body}`)}`;
  }

  /**
   * Like sign, but the claims asked for within one turn of the event loop share ONE Ed25519 signature: over the
   * root of a Merkle tree of them (see merkleRoot). Each token is `<body>.<signature>.<proof>`, the proof being the
   * path from its own leaf to the signed root, so a token still vouches for exactly its own claims; a receiver
   * verifies the root's signature once per batch (ContextVerifier remembers verified roots) and hashes the path for
   * every token. A turn with a single request gets a plain token. Costs the caller one turn (setImmediate).
   */
  signBatched<C extends object>(domain: ContextDomain, claims: C, ttlMs: number): Promise<string> {
    const body = this.encode(claims, ttlMs);
    return new Promise<string>((resolve, reject) => {
      if (this.queue.push({ domain, body, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const all = this.queue;
    this.queue = [];
    const byDomain = new Map<ContextDomain, typeof all>();
    for (const item of all) {
      const list = byDomain.get(item.domain);
      if (list) list.push(item);
      else byDomain.set(item.domain, [item]);
    }
    for (const [domain, items] of byDomain) {
      for (let from = 0; from < items.length; from += MAX_BATCH) {
        const batch = items.slice(from, from + MAX_BATCH);
        try {
          if (batch.length === 1) {
            batch[0].resolve(`${batch[0].body}.${this.signature(`${domain}.${batch[0].body}`)}`);
            continue;
          }
          const levels = merkleLevels(batch.map((b) => leafHash(domain, b.body)));
          const root = levels[levels.length - 1][0];
          const sig = this.signature(batchMessage(domain, root));
          batch.forEach((b, i) => b.resolve(`${b.body}.${sig}.${encodeProof(batch.length, i, proofOf(levels, i))}`));
        } catch (err) {
          for (const b of batch) b.reject(err);
        }
      }
    }
  }

  private encode(claims: object, ttlMs: number): string {
    const iat = Date.now();
    return Buffer.from(JSON.stringify({ ...claims, iss: this.issuer, iat, exp: iat + ttlMs })).toString('base64url');
  }

  private signature(message: string | Buffer): string {
    return sign(null, typeof message === 'string' ? Buffer.from(message) : message, this.key).toString('base64url');
  }
}

/** At most this many tokens share one signature (the proof grows with log2 of it). */
const MAX_BATCH = 256;
const LEAF_TAG = Buffer.from([0]);
const NODE_TAG = Buffer.from([1]);

/** Leaves and inner nodes are hashed with different tags, so an inner node can never pass for a leaf. */
function leafHash(domain: ContextDomain, body: string): Buffer {
  return createHash('sha256').update(LEAF_TAG).update(`${domain}.${body}`).digest();
}

function nodeHash(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(NODE_TAG).update(left).update(right).digest();
}

/**
 * What a batch signature covers: the domain, a `batch` marker and the root. A plain token's message is
 * `<domain>.<body>` with a base64url body (no dot), so the two can never be mistaken for each other.
 */
function batchMessage(domain: ContextDomain, root: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${domain}.batch.`), root]);
}

/** Every level of the tree, leaves first; an odd last node moves up unchanged. */
function merkleLevels(leaves: Buffer[]): Buffer[][] {
  const levels = [leaves];
  for (let cur = leaves; cur.length > 1; ) {
    const next: Buffer[] = [];
    for (let i = 0; i < cur.length; i += 2) next.push(i + 1 < cur.length ? nodeHash(cur[i], cur[i + 1]) : cur[i]);
    levels.push(next);
    cur = next;
  }
  return levels;
}

/** The siblings on the way from leaf `index` to the root (none on levels where the node moves up alone). */
function proofOf(levels: Buffer[][], index: number): Buffer[] {
  const siblings: Buffer[] = [];
  for (let l = 0, i = index; l < levels.length - 1; l++, i >>= 1) {
    const j = i ^ 1;
    if (j < levels[l].length) siblings.push(levels[l][j]);
  }
  return siblings;
}

/** `count` (2 bytes), `index` (2 bytes), then the 32-byte siblings; base64url. */
function encodeProof(count: number, index: number, siblings: Buffer[]): string {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(count, 0);
  head.writeUInt16BE(index, 2);
  return Buffer.concat([head, ...siblings]).toString('base64url');
}

/** The root a proof leads to from `leaf`, or null when the proof does not fit a tree of its `count`. */
export function merkleRootOf(leaf: Buffer, proofText: string): Buffer | null {
  const proof = Buffer.from(proofText, 'base64url');
  if (proof.length < 4 || (proof.length - 4) % 32 !== 0) return null;
  let n = proof.readUInt16BE(0);
  let i = proof.readUInt16BE(2);
  if (n < 2 || n > MAX_BATCH || i >= n) return null;
  let h = leaf;
  let at = 4;
  for (; n > 1; i >>= 1, n = (n + 1) >> 1) {
    if ((i ^ 1) >= n) continue; // the last node of an odd level moves up alone
    if (at + 32 > proof.length) return null;
    const s = proof.subarray(at, at + 32);
    at += 32;
    h = i & 1 ? nodeHash(s, h) : nodeHash(h, s);
  }
  return at === proof.length ? h : null;
}

export type ContextRefusal = 'missing' | 'malformed' | 'unknown_issuer' | 'bad_signature' | 'expired' | 'not_yet_valid' | 'lifetime_too_long';

export type VerifiedContext<C> = { ok: true; claims: C & SignedClaims } | { ok: false; reason: ContextRefusal; claims?: Partial<C & SignedClaims> };

/** Checks signatures against the public keys of each trusted issuer (several keys each, for rotation). */
export class ContextVerifier {
  constructor(private readonly keys: ReadonlyMap<string, readonly KeyObject[]>) {}

  /** Builds the trust map from issuer -> public key text (comma-separated lists allowed). */
  static fromPublicKeys(byIssuer: Record<string, string | undefined>): ContextVerifier {
    const map = new Map<string, KeyObject[]>();
    for (const [issuer, text] of Object.entries(byIssuer)) if (text) map.set(issuer, parseContextPublicKeys(text));
    return new ContextVerifier(map);
  }

  issuers(): string[] {
    return [...this.keys.keys()];
  }

  /** Batch roots whose signature was verified (issuer, domain, root, signature), oldest dropped first. */
  private readonly verifiedRoots = new Set<string>();

  verify<C extends object>(domain: ContextDomain, token: string | undefined | null, now = Date.now()): VerifiedContext<C> {
    if (!token) return { ok: false, reason: 'missing' };
    if (typeof token !== 'string' || token.length > 16_384) return { ok: false, reason: 'malformed' };
    // `<body>.<signature>` or, signed in a batch, `<body>.<signature>.<proof>` (ContextSigner.signBatched)
    const dot = token.indexOf('.');
    const dot2 = dot > 0 ? token.indexOf('.', dot + 1) : -1;
    if (dot <= 0 || (dot2 !== -1 && token.indexOf('.', dot2 + 1) !== -1)) return { ok: false, reason: 'malformed' };
    const body = token.slice(0, dot);
    const sigText = dot2 === -1 ? token.slice(dot + 1) : token.slice(dot + 1, dot2);
    const proof = dot2 === -1 ? null : token.slice(dot2 + 1);
    const sig = Buffer.from(sigText, 'base64url');
    let claims: C & SignedClaims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as C & SignedClaims;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (!claims || typeof claims !== 'object' || typeof claims.iss !== 'string' || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') {
      return { ok: false, reason: 'malformed' };
    }
    const keys = this.keys.get(claims.iss);
    // Claims of a refused context are returned only for the audit trail: nothing in them is trusted.
    if (!keys) return { ok: false, reason: 'unknown_issuer', claims };
    if (sig.length !== 64) return { ok: false, reason: 'bad_signature', claims };
    if (proof === null) {
      if (!keys.some((k) => verify(null, Buffer.from(`${domain}.${body}`), k, sig))) return { ok: false, reason: 'bad_signature', claims };
    } else {
      // the proof ties these claims to a root; the root's signature is checked once per batch
      const root = merkleRootOf(leafHash(domain, body), proof);
      if (!root) return { ok: false, reason: 'malformed', claims };
      const seen = `${claims.iss}.${domain}.${root.toString('base64url')}.${sigText}`;
      if (!this.verifiedRoots.has(seen)) {
        if (!keys.some((k) => verify(null, batchMessage(domain, root), k, sig))) return { ok: false, reason: 'bad_signature', claims };
        this.verifiedRoots.add(seen);
        if (this.verifiedRoots.size > VERIFIED_ROOTS_KEPT) this.verifiedRoots.delete(this.verifiedRoots.values().next().value as string);
      }
    }
    if (claims.exp <= now) return { ok: false, reason: 'expired', claims };
    if (claims.iat > now + CONTEXT_CLOCK_SKEW_MS) return { ok: false, reason: 'not_yet_valid', claims };
    if (claims.exp - claims.iat > MAX_CONTEXT_LIFETIME_MS) return { ok: false, reason: 'lifetime_too_long', claims };
    return { ok: true, claims };
  }
}

/** Verified batch roots remembered per verifier: a few seconds of batches at thousands of requests per second. */
const VERIFIED_ROOTS_KEPT = 4096;
