/**
 * Errors the console shows to people. Every failed request becomes an ApiError: an RFC 9457 problem document
 * (detail, code, field errors, request id) or one of the client-side kinds (offline, timeout, session expired).
 */
export interface FieldProblem {
  field: string;
  message: string;
}

export type ApiErrorKind = 'problem' | 'offline' | 'timeout' | 'network' | 'session_expired' | 'aborted';

export class ApiError extends Error {
  readonly kind: ApiErrorKind;
  readonly status: number;
  readonly code: string | null;
  readonly title: string | null;
  readonly detail: string | null;
  readonly fieldErrors: FieldProblem[];
  readonly requestId: string | null;
  /** seconds, from Retry-After (429, 503) */
  readonly retryAfter: number | null;

  constructor(init: {
    kind: ApiErrorKind;
    status?: number;
    code?: string | null;
    title?: string | null;
    detail?: string | null;
    fieldErrors?: FieldProblem[];
    requestId?: string | null;
    retryAfter?: number | null;
  }) {
    super(init.detail ?? init.title ?? init.kind);
    this.name = 'ApiError';
    this.kind = init.kind;
    this.status = init.status ?? 0;
    this.code = init.code ?? null;
    this.title = init.title ?? null;
    this.detail = init.detail ?? null;
    this.fieldErrors = init.fieldErrors ?? [];
    this.requestId = init.requestId ?? null;
    this.retryAfter = init.retryAfter ?? null;
  }

  /** The error of one form field (first one), if the server named it. */
  /** Every message for `field` (or a part of it, `field.x` / `field[0]`), joined; undefined when there is none. */
  fieldError(field: string): string | undefined {
    const messages = this.fieldErrors
      .filter((e) => e.field === field || e.field.startsWith(`${field}.`) || e.field.startsWith(`${field}[`))
      .map((e) => e.message);
    return messages.length ? messages.join('; ') : undefined;
  }
}

function parseRetryAfter(v: string | null): number | null {
  if (!v) return null;
  const n = Number(v);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Builds the ApiError of a non-2xx response from its problem+json body (or whatever the body is). */
export function problemFromResponse(
  status: number,
  headers: { get(name: string): string | null },
  body: unknown,
): ApiError {
  const p = isRecord(body) ? body : {};
  const str = (k: string) => (typeof p[k] === 'string' ? (p[k] as string) : null);
  const fieldErrors = Array.isArray(p.errors)
    ? p.errors
        .filter(isRecord)
        .map((e) => ({ field: String(e.field ?? ''), message: String(e.message ?? '') }))
    : [];
  return new ApiError({
    kind: 'problem',
    status,
    code: str('code'),
    title: str('title'),
    detail: str('detail') ?? (typeof body === 'string' && body.length < 300 ? body : null),
    fieldErrors,
    requestId: str('request_id') ?? headers.get('x-request-id'),
    retryAfter: parseRetryAfter(headers.get('retry-after')),
  });
}

const seconds = (n: number) => (n === 1 ? '1 second' : `${n} seconds`);

/** One sentence a person understands, for any error a request can end with. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : 'Something went wrong';
  switch (err.kind) {
    case 'offline':
      return 'You are offline. Check your connection; the console retries when you are back.';
    case 'timeout':
      return 'The server took too long to answer. Try again in a moment.';
    case 'network':
      return 'Could not reach OpsDesk. Check your connection or try again.';
    case 'session_expired':
      return 'Your session has expired. Sign in again to continue.';
    case 'aborted':
      return 'Cancelled.';
    default:
      break;
  }
  if (err.status === 429) {
    const wait =
      err.retryAfter !== null ? ` Try again in ${seconds(err.retryAfter)}.` : ' Try again in a minute.';
    return `Too many attempts.${wait}`;
  }
  if (err.status === 403) return err.detail ?? 'Your role does not allow this.';
  if (err.status >= 500 && !err.detail)
    return 'OpsDesk had a problem answering. Try again; if it persists, tell an admin the request id.';
  const fields =
    err.fieldErrors.length && !err.detail
      ? ` ${err.fieldErrors.map((e) => `${e.field} ${e.message}`).join('; ')}`
      : '';
  return (err.detail ?? err.title ?? `Request failed (${err.status})`) + fields;
}
