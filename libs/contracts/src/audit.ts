import { z } from 'zod';
import type { Actor } from './events';
import { skipParam } from './pagination';

/**
 * Audit contracts: RPC patterns (`audit.<op>`, sent under the RPC prefix), request/response schemas and
 * payload types shared by services/audit and the gateway. No Nest or DB imports here.
 */
export const AuditRpc = {
  LIST: 'audit.list',
  VERIFY: 'audit.verify',
  /** the checkpoint verification keys; public (GET /api/audit/public-key needs no login) */
  PUBLIC_KEYS: 'audit.public_keys',
} as const;

export const AuditErrors = {
  INVALID_CURSOR: 'AUDIT.INVALID_CURSOR',
  INVALID_RANGE: 'AUDIT.INVALID_RANGE',
  /** a verification is already running (one at a time across every audit replica) */
  VERIFY_BUSY: 'AUDIT.VERIFY_BUSY',
} as const;

const isoTime = z.string().datetime({ offset: true });

/** Filters shared by the list and both exports (SPEC §4). */
export const auditFiltersSchema = z.object({
  /** a user id (uuid) or an email (case-insensitive) */
  actor: z.string().min(1).max(320).optional(),
  /** an event type (`auth.login.failed`), or a prefix ending in `*` (`auth.*`) */
  action: z
    .string()
    .max(200)
    .regex(/^[a-z0-9_.]+\*?$/, 'must be an event type, or a prefix ending in *')
    .optional(),
  entity_type: z.string().min(1).max(100).optional(),
  entity_id: z.string().min(1).max(200).optional(),
  /** occurred_at >= from */
  from: isoTime.optional(),
  /** occurred_at < to */
  to: isoTime.optional(),
  /** words that must all appear in the type, actor email, entity, request id or data values */
  q: z.string().min(1).max(200).optional(),
});
export type AuditFilters = z.infer<typeof auditFiltersSchema>;

export const listAuditSchema = auditFiltersSchema.extend({
  limit: z.coerce.number().int().min(1).max(100).default(50),
  cursor: z.string().max(200).optional(),
  /** offset, for the original's clients; honoured when no cursor is given */
  skip: skipParam,
});
export type ListAuditRequest = z.infer<typeof listAuditSchema>;

// a sequence number as the chain stores it (bigint), within what a JSON number holds exactly: a larger one would
// overflow in the database (the security fuzzer's 7.7e292 answered 500)
const seqQuery = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);
export const verifyAuditSchema = z.object({
  from_seq: seqQuery.optional(),
  to_seq: seqQuery.optional(),
});
export type VerifyAuditRequest = z.infer<typeof verifyAuditSchema>;

/** One audit record as the API and the JSONL export show it. */
export interface AuditRecordView {
  seq: number;
  event_id: string;
  type: string;
  source: string;
  occurred_at: string;
  recorded_at: string;
  actor: Actor | null;
  entity_type: string;
  entity_id: string | null;
  request_id: string | null;
  trace_id: string | null;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointView {
  seq: number;
  hash: string;
  created_at: string;
  key_id: string;
  /** `ed25519`; `hmac-sha256` for legacy checkpoints written before Ed25519 (reported, never trusted) */
  alg: 'ed25519' | 'hmac-sha256';
  /** hex */
  signature: string;
}

/** One checkpoint verification key (GET /api/audit/public-key). */
export interface AuditPublicKeyView {
  /** first 16 hex digits of SHA-256 of the raw 32-byte public key; checkpoints name it in key_id */
  key_id: string;
  alg: 'ed25519';
  /** base64 of the SPKI DER encoding */
  public_key: string;
  public_key_pem: string;
  /** signs new checkpoints; the others are earlier keys kept so older checkpoints stay verifiable */
  current: boolean;
}

export interface AuditPublicKeys {
  keys: AuditPublicKeyView[];
}

export interface AuditVerifyResult {
  ok: boolean;
  checked: number;
  head_seq: number;
  head_hash: string;
  first_bad_seq?: number;
  checkpoints_ok: boolean;
  /** checkpoints checked (signature, and hash of the record at their seq) */
  checkpoints_checked: number;
  /** checkpoints with a valid Ed25519 signature by one of the published keys */
  checkpoints_trusted: number;
  /** HMAC checkpoints from before Ed25519 signing: not trusted (whoever could verify them could forge them) */
  checkpoints_legacy: number;
  /** highest seq vouched for by a valid signed checkpoint (records after it are not signed yet); 0: none */
  attested_seq: number;
  problems: string[];
}
