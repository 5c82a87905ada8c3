/**
 * Error codes are strings so they survive crossing a process boundary (NATS reply, JSON body).
 * Services throw them; their HTTP status comes from one table, `httpStatusForCode` (http-status.ts), used by
 * the gateway's problem documents and by the internal HTTP routes that stream bodies.
 */
export const ErrorCodes = {
  // generic
  VALIDATION_FAILED: 'COMMON.VALIDATION_FAILED',
  NOT_FOUND: 'COMMON.NOT_FOUND',
  INTERNAL: 'COMMON.INTERNAL',
  UNAUTHENTICATED: 'AUTH.UNAUTHENTICATED',
  FORBIDDEN: 'AUTH.FORBIDDEN',
  RATE_LIMITED: 'GATEWAY.RATE_LIMITED',
  UPSTREAM_TIMEOUT: 'GATEWAY.UPSTREAM_TIMEOUT',
  UPSTREAM_UNAVAILABLE: 'GATEWAY.UPSTREAM_UNAVAILABLE',
  /** the service answered but a dependency of its own (its database, NATS) is down: retry later (503) */
  SERVICE_UNAVAILABLE: 'COMMON.SERVICE_UNAVAILABLE',
  PAYLOAD_TOO_LARGE: 'COMMON.PAYLOAD_TOO_LARGE',
  /** a streamed body (upload, import) stalled longer than the idle timeout: slow-loris protection (408) */
  BODY_TIMEOUT: 'COMMON.BODY_TIMEOUT',
  /** a path parameter longer than the router accepts (414) */
  URI_TOO_LONG: 'COMMON.URI_TOO_LONG',
  /** a streamed route (upload, import) sent a body type it does not stream (415) */
  UNSUPPORTED_MEDIA_TYPE: 'COMMON.UNSUPPORTED_MEDIA_TYPE',
  PRECONDITION_FAILED: 'COMMON.PRECONDITION_FAILED',
  CONFLICT: 'COMMON.CONFLICT',
  /** an RPC without a valid signed caller context (missing, forged, expired, addressed elsewhere); never expected through the gateway */
  RPC_CONTEXT_INVALID: 'COMMON.RPC_CONTEXT_INVALID',
  // auth
  INVALID_CREDENTIALS: 'AUTH.INVALID_CREDENTIALS',
  MFA_REQUIRED: 'AUTH.MFA_REQUIRED',
  MFA_INVALID_CODE: 'AUTH.MFA_INVALID_CODE',
  /** a code given while setting up / disabling MFA does not match (400, not a failed login) */
  MFA_CODE_MISMATCH: 'AUTH.MFA_CODE_MISMATCH',
  MFA_ALREADY_ENABLED: 'AUTH.MFA_ALREADY_ENABLED',
  MFA_NOT_ENABLED: 'AUTH.MFA_NOT_ENABLED',
  MFA_NOT_SET_UP: 'AUTH.MFA_NOT_SET_UP',
  INVALID_REFRESH_TOKEN: 'AUTH.INVALID_REFRESH_TOKEN',
  REFRESH_TOKEN_REUSED: 'AUTH.REFRESH_TOKEN_REUSED',
  TOKEN_REVOKED: 'AUTH.TOKEN_REVOKED',
  INVALID_TOKEN: 'AUTH.INVALID_TOKEN',
  USER_INACTIVE: 'AUTH.USER_INACTIVE',
  USER_NOT_FOUND: 'AUTH.USER_NOT_FOUND',
  EMAIL_TAKEN: 'AUTH.EMAIL_TAKEN',
  WEAK_PASSWORD: 'AUTH.WEAK_PASSWORD',
  WRONG_PASSWORD: 'AUTH.WRONG_PASSWORD',
  API_TOKEN_NOT_FOUND: 'AUTH.API_TOKEN_NOT_FOUND',
  /** a token scope above what the owner's role allows */
  API_TOKEN_SCOPE_TOO_WIDE: 'AUTH.API_TOKEN_SCOPE_TOO_WIDE',
  /** tokens, password and MFA are managed from a login session, never with an API token */
  SESSION_REQUIRED: 'AUTH.SESSION_REQUIRED',
  CANNOT_MODIFY_SELF: 'AUTH.CANNOT_MODIFY_SELF',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes] | `${string}.${string}`;

export interface FieldError {
  field: string;
  message: string;
}

/** The shape of every error that crosses a process boundary (RPC error payload). */
export interface AppErrorPayload {
  code: ErrorCode;
  message: string;
  errors?: FieldError[];
  /** optional machine-readable extras (e.g. retry_after, conflicting field) */
  meta?: Record<string, unknown>;
}

export function isAppErrorPayload(value: unknown): value is AppErrorPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { code?: unknown }).code === 'string' &&
    typeof (value as { message?: unknown }).message === 'string'
  );
}

/** A plain error with a code; services convert it to an RpcException at the transport edge. */
export class AppError extends Error {
  constructor(
    public readonly code: ErrorCode,
    message: string,
    public readonly errors?: FieldError[],
    public readonly meta?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }

  toPayload(): AppErrorPayload {
    const p: AppErrorPayload = { code: this.code, message: this.message };
    if (this.errors?.length) p.errors = this.errors;
    if (this.meta) p.meta = this.meta;
    return p;
  }
}
