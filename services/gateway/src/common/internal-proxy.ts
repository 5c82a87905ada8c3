import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { InternalTokenIssuer } from '@opsdesk/authn';
import { AppError, ErrorCodes, type FieldError } from '@opsdesk/contracts';
import { traceHeaders } from '@opsdesk/observability';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';
import { SecurityEventReporter } from '../events/security-event-reporter';
import { deniedEvent } from '../events/security-events';
import { problem } from './problem';
import { actorOf, type AuthedRequest } from './request-context';

/** Response headers an internal service may pass to the client. */
const PASS_HEADERS = [
  'content-type',
  'content-length',
  'content-range',
  'accept-ranges',
  'etag',
  'last-modified',
  'content-disposition',
  'x-content-type-options',
  'retry-after',
  'location',
  'x-total-count',
];
/** Body types the gateway leaves unparsed for streaming (the content-type parsers registered in bootstrap.ts). */
const STREAMED_TYPES = ['multipart/form-data', 'text/csv', 'application/octet-stream'];
/** Request headers the gateway forwards. */
const FORWARD_HEADERS = ['content-type', 'content-length', 'range', 'if-none-match', 'if-match', 'if-range', 'accept'];

export interface ForwardOptions {
  /** stream the client's request body upstream (uploads, CSV import) */
  streamBody?: boolean;
  /** or send this JSON body */
  json?: unknown;
  /** query string to append (without '?') */
  query?: string;
  method?: string;
}

/**
 * Streams a request to an internal service's HTTP port and the answer back, for bodies that must never
 * travel over NATS (SPEC §2). Nothing is buffered: request and response are piped with backpressure.
 * The service is told who calls with a short-lived internal token bound to this method and path.
 * Upstream errors (JSON {code, message, errors}) become RFC 9457 problems like every other error.
 */
@Injectable()
export class InternalProxy {
  private readonly logger = new Logger(InternalProxy.name);

  constructor(
    private readonly tokens: InternalTokenIssuer,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    private readonly events: SecurityEventReporter,
  ) {}

  /** The service behind an internal base URL: the token's audience, so a service cannot replay it at another. */
  private audienceOf(baseUrl: string): string {
    const byUrl: Array<[string, string]> = [
      [this.config.ARTIFACTS_URL, 'artifacts'],
      [this.config.INVENTORY_URL, 'inventory'],
      [this.config.AUDIT_URL, 'audit'],
    ];
    const origin = new URL(baseUrl).origin;
    const hit = byUrl.find(([url]) => new URL(url).origin === origin);
    if (!hit) throw new Error(`InternalProxy: ${baseUrl} is not a configured internal service URL`);
    return hit[1];
  }

  /**
   * Slow-loris protection for streamed bodies: the client must keep sending. When it stalls for
   * BODY_IDLE_TIMEOUT_SECONDS the upload is abandoned upstream (the service drops its temp file and frees the
   * user's upload slot), the client gets a 408 problem, and the connection is closed so the socket is freed too.
   * Backpressure pauses (the upstream is slower than the client) do not count: only time the request stream is
   * flowing-but-silent does.
   *
   * Progress is read from the socket's byte counter by one coarse timer rather than by a 'data' listener that
   * re-armed a timer per chunk: on a 500 MB upload that was ~8,000 listener calls and timer objects, each also
   * wrapped by the tracing context of the request (issue 12 profile).
   */
  private guardIdleBody(req: AuthedRequest, reply: FastifyReply, upstream: ClientRequest, onTimeout: () => void): () => void {
    const idleMs = this.config.BODY_IDLE_TIMEOUT_SECONDS * 1000;
    const raw = req.raw;
    const socket = raw.socket as (typeof raw.socket | null);
    // bytes received so far: the socket's counter; without a socket (injected requests) a per-chunk counter
    let received = 0;
    if (!socket) raw.on('data', (c: Buffer) => (received += c.length));
    const progress = () => (socket ? socket.bytesRead : received);
    let seen = progress();
    let lastMoved = Date.now();
    const timer = setInterval(
      () => {
        if (raw.complete) return stop();
        const now = Date.now();
        const bytes = progress();
        // moving, or paused by our own backpressure: not the client's silence
        if (bytes !== seen || raw.isPaused()) {
          seen = bytes;
          lastMoved = now;
          return;
        }
        if (now - lastMoved < idleMs) return;
        stop();
        this.logger.warn(`body idle for ${idleMs} ms on ${req.method} ${req.url}: cutting the upload`);
        this.events.report(deniedEvent(req, { code: ErrorCodes.BODY_TIMEOUT }), 'body-timeout');
        upstream.destroy(new Error('client body idle timeout'));
        reply.header('connection', 'close');
        onTimeout();
        // once the problem is flushed, drop the socket: the stalled client may never read or send again
        reply.raw.once('finish', () => raw.socket?.destroy());
      },
      // checked a few times per idle period: the cut comes between idleMs and idleMs + one tick
      Math.max(50, Math.min(1000, Math.floor(idleMs / 4))),
    );
    timer.unref();
    const stop = () => clearInterval(timer);
    raw.once('end', stop);
    raw.once('close', stop);
    return stop;
  }

  forward(req: AuthedRequest, reply: FastifyReply, baseUrl: string, path: string, opts: ForwardOptions = {}): Promise<void> {
    const method = (opts.method ?? req.method).toUpperCase();
    const requestId = String(req.id);
    if (!req.user) throw new Error('InternalProxy.forward needs an authenticated request');
    // Only the streamed types reach here unparsed (bootstrap.ts): any other body was already consumed by a parser,
    // so piping it would send nothing upstream and fail as a 503 (found by the security fuzzer).
    const type = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
    if (opts.streamBody && !STREAMED_TYPES.includes(type))
      throw new AppError(ErrorCodes.UNSUPPORTED_MEDIA_TYPE, `This route streams ${STREAMED_TYPES.join(', ')} bodies, not ${type || 'an untyped body'}`);
    const token = this.tokens.sign({ principal: req.user, actor: actorOf(req), request_id: requestId, aud: this.audienceOf(baseUrl), method, path });
    const headers: Record<string, string> = { authorization: `Internal ${token}`, 'x-request-id': requestId, ...traceHeaders() };
    if (opts.streamBody) {
      for (const h of FORWARD_HEADERS) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
    } else {
      for (const h of ['range', 'if-none-match', 'if-match', 'if-range', 'accept']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
    }
    let payload: Buffer | null = null;
    if (opts.json !== undefined) {
      payload = Buffer.from(JSON.stringify(opts.json));
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    const url = new URL(`${path}${opts.query ? `?${opts.query}` : ''}`, baseUrl);

    return new Promise<void>((resolve) => {
      const upstream = httpRequest(url, { method, headers, timeout: this.config.REQUEST_TIMEOUT * 1000 });
      let settled = false;
      const done = () => {
        if (!settled) {
          settled = true;
          resolve();
        }
      };
      let stopIdleGuard: () => void = () => undefined;
      let relayStopped = false;
      // Answered (the service refused, failed, or the client's body idled) before the client's body was complete:
      // once, relaying and the idle guard stop and the upstream request is closed (its answer, if any, is read: the
      // service has nothing more to say and must not wait for a body that will not come). The client's rest is read
      // and dropped for a bounded time by the bootstrap's linger on the answer (libs/platform lingerAfterAnswer: why
      // neither `Connection: close` nor leaving it unread).
      const stopRelay = () => {
        if (relayStopped || !opts.streamBody || req.raw.complete) return;
        relayStopped = true;
        stopIdleGuard();
        req.raw.unpipe(upstream);
        upstream.destroy();
      };
      const fail = (status: number, code: string, detail: string, errors?: FieldError[]) => {
        stopRelay();
        if (!reply.sent) {
          void reply.status(status).type('application/problem+json').send(problem(status, code, detail, requestId, errors ? { errors } : {}));
        }
        done();
      };
      upstream.on('timeout', () => upstream.destroy(new Error('upstream idle timeout')));
      upstream.on('error', (err) => {
        // after an answer (the relay was stopped and the upstream closed by stopRelay) this is expected
        if (relayStopped) return void this.logger.debug(`internal ${method} ${url.pathname} after its answer: ${err.message}`);
        this.logger.warn(`internal ${method} ${url.pathname}: ${err.message}`);
        if (!reply.sent) fail(503, ErrorCodes.UPSTREAM_UNAVAILABLE, 'Service unavailable');
        else if (!reply.raw.writableFinished) reply.raw.destroy(err);
        // the answer is out (a refusal the service sent before closing its end): stop relaying the client's rest
        else stopRelay();
        done();
      });
      upstream.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 502;
        if (status >= 400) {
          // Error bodies are small JSON documents; read them and answer with a problem.
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= 64 * 1024) chunks.push(c);
          });
          res.on('end', () => {
            let body: { code?: string; message?: string; errors?: FieldError[]; meta?: Record<string, unknown> } = {};
            try {
              body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
            } catch {
              // not JSON: keep the status, use a generic code
            }
            // headers that give an error its meaning: when to retry (429/503), the real size (416)
            for (const h of ['retry-after', 'content-range']) {
              const v = res.headers[h];
              if (typeof v === 'string') reply.header(h, v);
            }
            const code = body.code ?? (status >= 500 ? ErrorCodes.INTERNAL : `HTTP.${status}`);
            // a service's own refusal is a denied request like an RBAC one (the interceptor never sees it: nothing is thrown)
            if (status === 403) this.events.report(deniedEvent(req, { code }), code ?? 'forbidden');
            fail(status, code, status >= 500 && !body.code ? 'Internal error' : (body.message ?? 'Request failed'), body.errors);
          });
          res.on('error', () => fail(502, ErrorCodes.UPSTREAM_UNAVAILABLE, 'Upstream response failed'));
          return;
        }
        reply.status(status);
        for (const h of PASS_HEADERS) {
          const v = res.headers[h];
          if (v !== undefined) reply.header(h, v);
        }
        res.on('end', done);
        res.on('error', done);
        void reply.send(res);
      });
      // A client that goes away mid-upload must not leave the upstream waiting.
      req.raw.on('close', () => {
        if (!req.raw.complete && opts.streamBody) upstream.destroy(new Error('client aborted'));
      });
      if (opts.streamBody) {
        stopIdleGuard = this.guardIdleBody(req, reply, upstream, () =>
          fail(408, ErrorCodes.BODY_TIMEOUT, `No body bytes for ${this.config.BODY_IDLE_TIMEOUT_SECONDS} s: the upload was cut`),
        );
        req.raw.pipe(upstream);
      } else upstream.end(payload ?? undefined);
    });
  }
}
