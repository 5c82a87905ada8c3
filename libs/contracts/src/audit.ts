import { z } from 'zod';
import type { Actor } from './events';

/**
 * Audit contracts: RPC patterns (`audit.<op>`, sent under the RPC prefix), request/response schemas and
 * payload types shared by services/audit and the gateway. No Nest or DB imports here.
 */
export const AuditRpc = {
  LIST: 'audit.list',
  VERIFY: 'audit.verify',
} as const;

export const AuditErrorCodes = {
  INVALID_CURSOR: 'AUDIT.INVALID_CURSOR',
  INVALID_RANGE: 'AUDIT.INVALID_RANGE',
  VALIDATION_FAILED: 'AUDIT.VALIDATION_FAILED',
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
});
export type ListAuditRequest = z.infer<typeof listAuditSchema>;

export const verifyAuditSchema = z.object({
  from_seq: z.coerce.number().int().min(1).optional(),
  to_seq: z.coerce.number().int().min(1).optional(),
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
  signature: string;
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
  problems: string[];
}
