import { ErrorCodes } from './errors';
import { InventoryErrors } from './inventory';
import { ArtifactsErrors } from './artifacts';
import { AuditErrors } from './audit';

/**
 * The one error-code → HTTP status table. Every code the contracts define has an explicit row (a unit test
 * checks it), so nothing is guessed from a suffix; a code that is not here is a bug and answers 500.
 * Used by the gateway (problem documents) and by the services' internal HTTP routes (streamed bodies).
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  [ErrorCodes.VALIDATION_FAILED]: 400,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.INTERNAL]: 500,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.UPSTREAM_TIMEOUT]: 504,
  [ErrorCodes.BODY_TIMEOUT]: 408,
  [ErrorCodes.UPSTREAM_UNAVAILABLE]: 503,
  [ErrorCodes.SERVICE_UNAVAILABLE]: 503,
  [ErrorCodes.UNSUPPORTED_MEDIA_TYPE]: 415,
  [ErrorCodes.URI_TOO_LONG]: 414,
  // a service refused the gateway's own signed caller context: a fault inside the system (keys out of step),
  // never the client's
  [ErrorCodes.RPC_CONTEXT_INVALID]: 500,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.PRECONDITION_FAILED]: 412,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.INVALID_CREDENTIALS]: 401,
  [ErrorCodes.MFA_REQUIRED]: 401,
  [ErrorCodes.MFA_INVALID_CODE]: 401,
  [ErrorCodes.MFA_CODE_MISMATCH]: 400,
  [ErrorCodes.MFA_ALREADY_ENABLED]: 409,
  [ErrorCodes.MFA_NOT_ENABLED]: 409,
  [ErrorCodes.MFA_NOT_SET_UP]: 409,
  [ErrorCodes.INVALID_REFRESH_TOKEN]: 401,
  [ErrorCodes.REFRESH_TOKEN_REUSED]: 401,
  [ErrorCodes.TOKEN_REVOKED]: 401,
  [ErrorCodes.INVALID_TOKEN]: 401,
  [ErrorCodes.USER_INACTIVE]: 401,
  [ErrorCodes.USER_NOT_FOUND]: 404,
  [ErrorCodes.EMAIL_TAKEN]: 409,
  [ErrorCodes.WEAK_PASSWORD]: 400,
  [ErrorCodes.WRONG_PASSWORD]: 400,
  [ErrorCodes.API_TOKEN_NOT_FOUND]: 404,
  [ErrorCodes.API_TOKEN_SCOPE_TOO_WIDE]: 403,
  [ErrorCodes.SESSION_REQUIRED]: 403,
  [ErrorCodes.CANNOT_MODIFY_SELF]: 403,
  [InventoryErrors.HOST_NOT_FOUND]: 404,
  [InventoryErrors.HOST_CONFLICT]: 409,
  [InventoryErrors.PRECONDITION_FAILED]: 412,
  [InventoryErrors.ACCESS_REASON_REQUIRED]: 400,
  [InventoryErrors.PROMETHEUS_UNAVAILABLE]: 503,
  [InventoryErrors.METRICS_NOT_FOUND]: 404,
  [InventoryErrors.IMPORT_TOO_LARGE]: 413,
  [InventoryErrors.IMPORT_INVALID]: 400,
  [InventoryErrors.IMPORT_UNSUPPORTED_MEDIA_TYPE]: 415,
  // the request is fine; the host's or the settings' state does not allow rendering (fix the host/settings)
  [InventoryErrors.ACCESS_TEMPLATE_UNUSABLE]: 409,
  [InventoryErrors.TELEPORT_NOT_CONFIGURED]: 409,
  [ArtifactsErrors.NOT_FOUND]: 404,
  [ArtifactsErrors.HOST_NOT_FOUND]: 404,
  [ArtifactsErrors.TOO_LARGE]: 413,
  [ArtifactsErrors.FILE_REQUIRED]: 400,
  [ArtifactsErrors.INVALID_UPLOAD]: 400,
  [ArtifactsErrors.RANGE_NOT_SATISFIABLE]: 416,
  [ArtifactsErrors.INTEGRITY_CONFLICT]: 409,
  [ArtifactsErrors.INVENTORY_UNAVAILABLE]: 503,
  [ArtifactsErrors.QUOTA_EXCEEDED]: 507,
  [ArtifactsErrors.STORAGE_FULL]: 507,
  [ArtifactsErrors.TOO_MANY_UPLOADS]: 429,
  [AuditErrors.INVALID_CURSOR]: 400,
  [AuditErrors.INVALID_RANGE]: 400,
  [AuditErrors.VERIFY_BUSY]: 429,
};

/** The HTTP status for an error code (500 for a code nobody registered). */
export function httpStatusForCode(code: string): number {
  const explicit = HTTP_STATUS_BY_CODE[code];
  if (explicit) return explicit;
  // `HTTP.<status>`: a framework error (405, 406, …) that already is an HTTP status
  const m = /^HTTP\.([45]\d\d)$/.exec(code);
  return m ? Number(m[1]) : 500;
}

/** Every code the contracts define, for the completeness test and for docs. */
export const ALL_ERROR_CODES: readonly string[] = [
  ...Object.values(ErrorCodes),
  ...Object.values(InventoryErrors),
  ...Object.values(ArtifactsErrors),
  ...Object.values(AuditErrors),
];

/** Seconds a client should wait before retrying a 503 (Retry-After). */
export const RETRY_AFTER_SECONDS = 2;
