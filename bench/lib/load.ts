/**
 * Load generation for the suite: a lean keep-alive HTTP client (node:http, no fetch/undici overhead in the
 * measurement), a closed loop at a given concurrency for a given time, and an open loop at a fixed rate.
 */
import { Agent, request } from 'node:http';
import { latencySummary } from './stats';

export interface HttpResult {
  status: number;
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
}

export class HttpClient {
  private readonly agent: Agent;
  constructor(
    readonly base: string,
    readonly headers: Record<string, string> = {},
    maxSockets = 64,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets });
  }

  req(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const u = new URL(path, this.base);
    return new Promise((resolve, reject) => {
      const r = request(
        {
          agent: this.agent,
          host: u.hostname,
          port: u.port,
          path: u.pathname + u.search,
          method,
          headers: { ...this.headers, ...headers, ...(data ? { 'content-type': 'application/json', 'content-length': String(data.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }));
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(data);
    });
  }

  get(path: string): Promise<HttpResult> {
    return this.req('GET', path);
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoopResult {
  ok: number;
  errors: number;
  seconds: number;
  per_s: number;
  lat_ms: ReturnType<typeof latencySummary>;
  samples_ms: number[];
}

/**
 * Closed loop: `concurrency` workers call `op(i)` back to back for `seconds`; op throws (or returns false)
 * on failure. Latency of every call in ms.
 */
export async function closedLoop(op: (i: number) => Promise<boolean | void>, concurrency: number, seconds: number): Promise<LoopResult> {
  const samples: number[] = [];
  let errors = 0;
  let n = 0;
  let firstError: unknown = null;
  const start = process.hrtime.bigint();
  const end = start + BigInt(Math.round(seconds * 1e9));
  const worker = async () => {
    while (process.hrtime.bigint() < end) {
      const i = n++;
      const t = process.hrtime.bigint();
      try {
        const ok = await op(i);
        if (ok === false) errors++;
        else samples.push(Number(process.hrtime.bigint() - t) / 1e6);
      } catch (err) {
        errors++;
        firstError ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  if (samples.length === 0) throw new Error(`every call failed: ${String((firstError as Error)?.message ?? firstError)}`);
  return { ok: samples.length, errors, seconds: secs, per_s: samples.length / secs, lat_ms: latencySummary(samples), samples_ms: samples };
}

/** Open loop: starts op(i) every 1/rate s for `seconds`, whatever is in flight; latency per call in ms. */
export async function openLoop(op: (i: number) => Promise<boolean | void>, rate: number, seconds: number): Promise<LoopResult> {
  const samples: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const start = process.hrtime.bigint();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + BigInt(Math.round((i / rate) * 1e9));
    const wait = Number(due - process.hrtime.bigint()) / 1e6;
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const t = process.hrtime.bigint();
    pending.push(
      op(i).then(
        (ok) => {
          if (ok === false) errors++;
          else samples.push(Number(process.hrtime.bigint() - t) / 1e6);
        },
        () => {
          errors++;
        },
      ),
    );
  }
  await Promise.all(pending);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  return { ok: samples.length, errors, seconds: secs, per_s: samples.length / secs, lat_ms: latencySummary(samples), samples_ms: samples };
}

/** Without the raw samples, for the JSON file. */
export function compact(r: LoopResult): Omit<LoopResult, 'samples_ms'> {
  const { samples_ms: _drop, ...rest } = r;
  void _drop;
  return { ...rest, per_s: Math.round(r.per_s * 10) / 10, seconds: Math.round(r.seconds * 100) / 100 };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `count` calls of op(i) by `concurrency` workers; returns how many succeeded. */
export async function countLoop(op: (i: number) => Promise<boolean | void>, concurrency: number, count: number): Promise<number> {
  let next = 0;
  let ok = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        if ((await op(i).catch(() => false)) !== false) ok++;
      }
    }),
  );
  return ok;
}
