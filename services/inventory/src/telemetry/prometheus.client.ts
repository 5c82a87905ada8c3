import { AppError, InventoryErrors } from '@opsdesk/contracts';
import type { PromSample } from './node-metrics';
import { redactUrl } from '../settings/settings.service';

/**
 * Minimal client for Prometheus' HTTP API (instant queries) over Node's fetch. Credentials in the URL become a
 * Basic Authorization header (fetch refuses URLs with credentials). Every failure to get an answer is
 * INVENTORY.PROMETHEUS_UNAVAILABLE (503) with the cause, never an empty result.
 */
export class PrometheusClient {
  private readonly base: URL;
  private readonly headers: Record<string, string> = { accept: 'application/json' };

  constructor(
    url: string,
    private readonly timeoutMs: number,
  ) {
    const u = new URL(url);
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
      res = await fetch(url, { headers: this.headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause?.code ?? cause?.message ?? (err as Error).message;
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, `Prometheus at ${where} is unreachable: ${why}`, undefined, { cause: why });
    }
    const text = await res.text().catch(() => '');
    let body: { status?: string; data?: { resultType?: string; result?: PromSample[] }; error?: string } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      // not JSON: reported below with the status
    }
    if (!res.ok || body.status !== 'success') {
      const why = body.error ?? `HTTP ${res.status}`;
      throw new AppError(InventoryErrors.PROMETHEUS_UNAVAILABLE, `Prometheus at ${where} failed: ${why}`, undefined, { cause: why });
    }
    return body.data?.resultType === 'vector' ? (body.data.result ?? []) : [];
  }
}
