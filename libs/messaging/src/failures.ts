/**
 * Which failures are the message's fault and which are the world's.
 *
 * A consumer may give up on a message (dead-letter it) only when the message itself is at fault: it is
 * invalid, or the handler rejects it deterministically. When a dependency is unavailable (the service's
 * own database, NATS, another service) the message is fine and must wait — giving up on it then is how
 * an audit trail silently loses acknowledged changes during a routine database restart.
 *
 * The classification is by error shape (SQLSTATE classes, socket errors, NATS and RPC codes) and is
 * conservative towards "dependency": the consumer then probes its dependencies, and only a failure while
 * they are healthy counts as an attempt (see InboxConsumer), so a mis-classified deterministic error still
 * reaches the dead-letter path instead of blocking the stream forever.
 */

/** Throw this (or a subclass) from a handler to say "not the message's fault, retry later". */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

export type FailureKind = 'dependency' | 'message';

/**
 * SQLSTATE classes/codes that say the database (not the statement) failed: 08 connection exception,
 * 53 insufficient resources (too many connections, disk full, out of memory), 57P01-57P05 admin/crash
 * shutdown, cannot connect now, idle session timeout, 58 system error (I/O), 40001/40P01 serialization
 * failure and deadlock (the retry succeeds), 55P03 lock not available, 57014 statement cancelled.
 */
const PG_DEPENDENCY_CODE = /^(08|53|58)|^(57P0[1-5]|40001|40P01|55P03|57014|25006|3D000)$/;

/** Socket-level errors from node-postgres, nats or HTTP clients. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND', 'ECONNABORTED']);

/** nats.js ErrorCode values that mean the broker, not the message, failed. */
const NATS_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_DRAINING', 'CONNECTION_REFUSED', 'CONNECTION_TIMEOUT', 'DISCONNECT', 'TIMEOUT', '503', 'REQUEST_ERROR']);

/** String codes of other services that mean "unavailable right now" (libs/contracts ErrorCodes). */
const UNAVAILABLE_APP_CODE = /\.(SERVICE_UNAVAILABLE|UPSTREAM_UNAVAILABLE|UPSTREAM_TIMEOUT)$/;

/** Messages of errors that carry no code (pg-pool, node-postgres, TypeORM) but are about the connection. */
const DEPENDENCY_MESSAGE =
  /connection terminated|timeout exceeded when trying to connect|connection (?:error|refused|reset|closed|lost)|client has encountered a connection error|terminating connection|the database system is (?:starting up|shutting down|in recovery)|cannot use a pool after calling end|query read timeout|connection timeout|socket hang up|not connected|query runner already released|was already released|driver not connected|not queryable|client was closed|transaction is not started|connection is not open/i;

function codeOf(e: unknown): string | undefined {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : typeof c === 'number' ? String(c) : undefined;
}

/** Walks `driverError` (TypeORM), `cause` (Error options) and `payload` (RpcCallError) chains. */
function* chain(err: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let cur: unknown = err;
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    seen.add(cur);
    yield cur;
    const o = cur as { driverError?: unknown; cause?: unknown; payload?: unknown };
    cur = o.driverError ?? o.cause ?? o.payload;
  }
}

export function classifyFailure(err: unknown): FailureKind {
  for (const e of chain(err)) {
    if (e instanceof TransientError) return 'dependency';
    const code = codeOf(e);
    if (code) {
      if (PG_DEPENDENCY_CODE.test(code) && /^[0-9A-Z]{5}$/.test(code)) return 'dependency';
      if (SOCKET_CODES.has(code) || NATS_CODES.has(code) || UNAVAILABLE_APP_CODE.test(code)) return 'dependency';
    }
    const message = (e as { message?: unknown }).message;
    if (typeof message === 'string' && DEPENDENCY_MESSAGE.test(message)) return 'dependency';
  }
  return 'message';
}

export const isDependencyFailure = (err: unknown): boolean => classifyFailure(err) === 'dependency';
