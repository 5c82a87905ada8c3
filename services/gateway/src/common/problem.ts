import { ErrorCodes, type FieldError } from '@opsdesk/contracts';

/** Explicit status for known codes; the suffix rules below cover codes of services added later. */
const STATUS_BY_CODE: Record<string, number> = {
  [ErrorCodes.VALIDATION_FAILED]: 400,
  [ErrorCodes.WEAK_PASSWORD]: 400,
  [ErrorCodes.WRONG_PASSWORD]: 400,
  [ErrorCodes.MFA_CODE_MISMATCH]: 400,
  [ErrorCodes.UNAUTHENTICATED]: 401,
  [ErrorCodes.INVALID_CREDENTIALS]: 401,
  [ErrorCodes.MFA_REQUIRED]: 401,
  [ErrorCodes.MFA_INVALID_CODE]: 401,
  [ErrorCodes.INVALID_REFRESH_TOKEN]: 401,
  [ErrorCodes.REFRESH_TOKEN_REUSED]: 401,
  [ErrorCodes.TOKEN_REVOKED]: 401,
  [ErrorCodes.INVALID_TOKEN]: 401,
  [ErrorCodes.USER_INACTIVE]: 401,
  [ErrorCodes.FORBIDDEN]: 403,
  [ErrorCodes.CANNOT_MODIFY_SELF]: 403,
  [ErrorCodes.NOT_FOUND]: 404,
  [ErrorCodes.USER_NOT_FOUND]: 404,
  [ErrorCodes.API_TOKEN_NOT_FOUND]: 404,
  [ErrorCodes.CONFLICT]: 409,
  [ErrorCodes.EMAIL_TAKEN]: 409,
  [ErrorCodes.MFA_ALREADY_ENABLED]: 409,
  [ErrorCodes.MFA_NOT_ENABLED]: 409,
  [ErrorCodes.MFA_NOT_SET_UP]: 409,
  [ErrorCodes.PRECONDITION_FAILED]: 412,
  [ErrorCodes.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCodes.RATE_LIMITED]: 429,
  [ErrorCodes.INTERNAL]: 500,
  // a service refused the gateway's own signed caller context: a fault inside the system (keys out of step), never the client's
  [ErrorCodes.RPC_CONTEXT_INVALID]: 500,
  [ErrorCodes.UPSTREAM_UNAVAILABLE]: 503,
  [ErrorCodes.UPSTREAM_TIMEOUT]: 504,
};

const SUFFIX_RULES: Array<[RegExp, number]> = [
  [/NOT_FOUND$/, 404],
  [/(CONFLICT|_TAKEN|_EXISTS|DUPLICATE)$/, 409],
  [/PRECONDITION/, 412],
  [/TOO_LARGE$/, 413],
  [/UNSUPPORTED_MEDIA_TYPE$/, 415],
  [/(FORBIDDEN|DENIED)$/, 403],
  [/(UNAVAILABLE|UNREACHABLE)$/, 503],
  [/(VALIDATION|INVALID|_REQUIRED)/, 400],
];

/** The HTTP status for an error code: the gateway is the only place that knows about HTTP. */
export function statusForCode(code: string): number {
  const explicit = STATUS_BY_CODE[code];
  if (explicit) return explicit;
  for (const [re, status] of SUFFIX_RULES) if (re.test(code)) return status;
  return 500;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  422: 'Unprocessable Content',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** RFC 9457 problem document with OpsDesk's extensions (code, request_id, errors). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  request_id: string;
  instance?: string;
  errors?: FieldError[];
  [extension: string]: unknown;
}

export function problem(status: number, code: string, detail: string, requestId: string, extra: Partial<Problem> = {}): Problem {
  return {
    type: `https://opsdesk.dev/problems/${code.toLowerCase().replace(/[._]/g, '-')}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail,
    code,
    request_id: requestId,
    ...extra,
  };
}
