import { AppError, InventoryErrors } from '@opsdesk/contracts';
import type { PromSample } from './node-metrics';
import { redactUrl } from '../settings/settings.service';

/** Largest answer read from Prometheus (a node's instant queries are a few KiB); beyond it the call fails. */
export const PROMETHEUS_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * Minimal client for Prometheus' HTTP API (instant queries) over Node's fetch. Credentials in the URL become a
 * Basic Authorization header (fetch refuses URLs with credentials). Every failure to get an answer is
 * INVENTORY.PROMETHEUS_UNAVAILABLE (503) with the cause, never an empty result.
 *
 * The URL is admin-set, so the call is an outbound request on the admin's behalf (SSRF surface): http(s) only,
 * redirects are not followed (a redirect could lead anywhere), the answer is bounded in time (timeoutMs, body
 * included) and size (PROMETHEUS_MAX_RESPONSE_BYTES), and errors never echo what the upstream sent back (only its
 * HTTP status and, for Prometheus' own errors, the short errorType).
 */
export class PrometheusClient {
  private readonly base: URL;
  private readonly headers: Record<string, string> = { accept: 'application/json' };

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:')
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, 'The Prometheus URL must be http(s)', undefined, { cause: 'scheme' });
    if (u.username || u.password) {
      this.headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u;
  }

  async query(promql: string): Promise<PromSample[]> {
    const url = new URL('api/v1/query', this.base);
    url.searchParams.set('query', promql);
    const where = redactUrl(this.base.toString());
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs), redirect: 'manual' });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, `Prometheus at ${where} is unreachable: ${why}`, undefined, { cause: why });
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, `Prometheus at ${where} answered a redirect (HTTP ${res.status}); redirects are not followed`, undefined, {
        cause: `HTTP ${res.status}`,
      });
    }
    const text = await readBounded(res, PROMETHEUS_MAX_RESPONSE_BYTES);
    if (text === null) {
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, `Prometheus at ${where} sent more than ${PROMETHEUS_MAX_RESPONSE_BYTES} bytes (or the read failed)`, undefined, {
        cause: 'response too large or unreadable',
      });
    }
    let body: { status?: string; data?: { resultType?: string; result?: PromSample[] }; errorType?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: reported below with the status
    }
    if (!res.ok || body.status !== 'success') {
      // never the upstream's text: its status, and Prometheus' errorType when it is one of its short identifiers
      const type = typeof body.errorType === 'string' && /^[a-z_]{1,32}$/.test(body.errorType) ? ` (${body.errorType})` : '';
      const why = `HTTP ${res.status}${type}`;
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, `Prometheus at ${where} failed: ${why}`, undefined, { cause: why });
    }
    return body.data?.resultType === 'vector' ? (body.data.result ?? []) : [];
  }
}

/** The body as text, or null when it exceeds `max` bytes or the read fails (the stream is cancelled). */
async function readBounded(res: Response, max: number): Promise<string | null> {
  if (!res.body) return '';
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) {
    await res.body.cancel().catch(() => undefined);
    return null;
  }
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > max) {
        await reader.cancel().catch(() => undefined);
        return null;
      }
      chunks.push(value);
    }
  } catch {
    return null;
  }
  return Buffer.concat(chunks).toString('utf8');
}
