import { createHash, randomBytes } from 'node:crypto';
import { REQUEST_TIMEOUT_S } from './system';

export type ActionKind =
  'host.create' | 'host.update' | 'host.delete' | 'login' | 'artifact.upload' | 'artifact.download';

/** What a client saw: an HTTP status, or why there was none. */
export type Outcome = number | 'refused' | 'reset' | 'hung' | 'corrupt';

export interface Action {
  /** X-Request-Id sent with the request: the key that finds its effect and its audit record */
  rid: string;
  kind: ActionKind;
  t0: number;
  t1: number;
  outcome: Outcome;
  /** an error answer was an RFC 9457 problem (application/problem+json) */
  problem: boolean;
  /** the system answered success with a complete, correct body: the action must have taken effect */
  acked: boolean;
  hostId?: string;
  /** the start of an error answer's body, for the report */
  detail?: string;
}

/** A client request still open this long after the gateway's own timeout is a hang. */
export const HANG_MS = (REQUEST_TIMEOUT_S + 5) * 1000;

const WEIGHTS: Array<[ActionKind, number]> = [
  ['host.create', 35],
  ['host.update', 20],
  ['host.delete', 10],
  ['login', 5],
  ['artifact.upload', 10],
  ['artifact.download', 20],
];

interface Artifact {
  id: string;
  sha256: string;
}

export interface LoadOptions {
  url: string;
  email: string;
  password: string;
  /** concurrent clients */
  clients?: number;
  /** actions per second, all clients together */
  rate?: number;
  /** request-id prefix; unique per run */
  label: string;
}

/**
 * Steady mixed load through the gateway from several concurrent clients. Every request carries its own
 * X-Request-Id and every answer is recorded, so the invariants can look up exactly what was acknowledged.
 */
export class Load {
  readonly actions: Action[] = [];
  private token = '';
  private running = false;
  private workers: Array<Promise<void>> = [];
  private seq = 0;
  /** hosts this load created (acknowledged) and that no request is using now */
  private idle: string[] = [];
  /** hosts made at the start that artifacts are attached to (never deleted, so uploads stay valid) */
  private stable: string[] = [];
  private artifacts: Artifact[] = [];

  constructor(private readonly opts: LoadOptions) {}

  async prepare(): Promise<void> {
    const login = await fetch(`${this.opts.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': ip() },
      body: JSON.stringify({ email: this.opts.email, password: this.opts.password }),
    });
    if (login.status !== 200)
      throw new Error(`load: admin login failed (${login.status}): ${await login.text()}`);
    this.token = ((await login.json()) as { access_token: string }).access_token;
    for (let i = 0; i < 4; i++) {
      const a = await this.createHost(`${this.opts.label}-stable-${i}`);
      if (!a.acked || !a.hostId) throw new Error(`load: could not create a stable host (${a.outcome})`);
      this.stable.push(a.hostId);
    }
    this.actions.length = 0; // the set-up is not part of the measured run
  }

  start(): void {
    this.running = true;
    const clients = this.opts.clients ?? 8;
    const interval = (1000 * clients) / (this.opts.rate ?? 48);
    for (let c = 0; c < clients; c++) this.workers.push(this.worker(interval, c * (interval / clients)));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(intervalMs: number, offsetMs: number): Promise<void> {
    let next = Date.now() + offsetMs;
    while (this.running) {
      const wait = next - Date.now();
      // pacing of an open-loop client: a late client does not burst to catch up
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      else if (wait < -1000) next = Date.now();
      next += intervalMs;
      if (!this.running) break;
      await this.one(pick());
    }
  }

  private rid(kind: string): string {
    return `${this.opts.label}-${kind.replace('.', '_')}-${++this.seq}`;
  }

  private async one(kind: ActionKind): Promise<void> {
    if ((kind === 'host.update' || kind === 'host.delete') && this.idle.length === 0) kind = 'host.create';
    if (kind === 'artifact.download' && this.artifacts.length === 0) kind = 'artifact.upload';
    switch (kind) {
      case 'host.create': {
        const a = await this.createHost();
        if (a.acked && a.hostId) this.idle.push(a.hostId);
        return;
      }
      case 'host.update': {
        const id = this.idle.splice(Math.floor(Math.random() * this.idle.length), 1)[0];
        await this.request(kind, 'PATCH', `/api/hosts/${id}`, {
          json: { notes: `n-${this.seq}`, criticality: 'medium' },
          hostId: id,
        });
        // the host exists whatever the answer was: it can be used again
        this.idle.push(id);
        return;
      }
      case 'host.delete': {
        const id = this.idle.splice(Math.floor(Math.random() * this.idle.length), 1)[0];
        await this.request(kind, 'DELETE', `/api/hosts/${id}`, { hostId: id });
        return;
      }
      case 'login': {
        await this.request(kind, 'POST', '/api/auth/login', {
          json: { email: this.opts.email, password: this.opts.password },
          anonymous: true,
          check: (b) =>
            typeof (JSON.parse(b.toString()) as { access_token?: unknown }).access_token === 'string',
        });
        return;
      }
      case 'artifact.upload': {
        const hostId = this.stable[Math.floor(Math.random() * this.stable.length)];
        const content = randomBytes(2048);
        const sha256 = createHash('sha256').update(content).digest('hex');
        const rid = this.rid(kind);
        const form = new FormData();
        form.set('kind', 'log');
        form.set('description', rid);
        form.set('file', new Blob([content]), `${rid}.log`);
        let id = '';
        const a = await this.request(kind, 'POST', `/api/hosts/${hostId}/artifacts`, {
          rid,
          form,
          hostId,
          check: (b) => {
            const body = JSON.parse(b.toString()) as { id?: string; sha256?: string };
            id = body.id ?? '';
            return !!id && body.sha256 === sha256;
          },
        });
        if (a.acked) this.artifacts.push({ id, sha256 });
        return;
      }
      case 'artifact.download': {
        const art = this.artifacts[Math.floor(Math.random() * this.artifacts.length)];
        await this.request(kind, 'GET', `/api/artifacts/${art.id}/download`, {
          check: (b) => createHash('sha256').update(b).digest('hex') === art.sha256,
        });
        return;
      }
    }
  }

  private async createHost(rid?: string): Promise<Action> {
    const n = ++this.seq;
    let hostId = '';
    const a = await this.request('host.create', 'POST', '/api/hosts', {
      rid,
      json: {
        hostname: `${rid ?? this.opts.label}-h${n}`,
        ip: nextHostIp(),
        environment: 'dev',
        os: 'linux',
        criticality: 'low',
      },
      check: (b) => {
        hostId = (JSON.parse(b.toString()) as { id?: string }).id ?? '';
        return !!hostId;
      },
    });
    a.hostId = hostId || undefined;
    return a;
  }

  private async request(
    kind: ActionKind,
    method: string,
    path: string,
    o: {
      rid?: string;
      json?: unknown;
      form?: FormData;
      anonymous?: boolean;
      hostId?: string;
      check?: (body: Buffer) => boolean;
    } = {},
  ): Promise<Action> {
    const rid = o.rid ?? this.rid(kind);
    const headers: Record<string, string> = {
      'x-request-id': rid,
      'user-agent': `opsdesk-reliability/${rid}`,
      'x-forwarded-for': ip(),
    };
    if (!o.anonymous) headers.authorization = `Bearer ${this.token}`;
    let body: string | FormData | undefined;
    if (o.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(o.json);
    } else if (o.form) body = o.form;
    const action: Action = {
      rid,
      kind,
      t0: Date.now(),
      t1: 0,
      outcome: 'hung',
      problem: false,
      acked: false,
      hostId: o.hostId,
    };
    this.actions.push(action);
    try {
      const res = await fetch(`${this.opts.url}${path}`, {
        method,
        headers,
        body,
        signal: AbortSignal.timeout(HANG_MS),
      });
      const buf = Buffer.from(await res.arrayBuffer());
      action.outcome = res.status;
      action.problem = (res.headers.get('content-type') ?? '').includes('application/problem+json');
      if (res.status >= 300)
        action.detail = `${res.headers.get('content-type') ?? ''} ${buf.subarray(0, 160).toString()}`;
      if (res.status >= 200 && res.status < 300) {
        let good = true;
        try {
          good = o.check ? o.check(buf) : true;
        } catch {
          good = false;
        }
        if (good) action.acked = true;
        else action.outcome = 'corrupt';
      }
    } catch (err) {
      action.outcome = classify(err);
    }
    action.t1 = Date.now();
    return action;
  }
}

function classify(err: unknown): Outcome {
  const e = err as { name?: string; cause?: { code?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'hung';
  if (e.cause?.code === 'ECONNREFUSED') return 'refused';
  return 'reset';
}

function pick(): ActionKind {
  const total = WEIGHTS.reduce((s, [, w]) => s + w, 0);
  let r = Math.random() * total;
  for (const [k, w] of WEIGHTS) if ((r -= w) < 0) return k;
  return 'host.create';
}

/** Host addresses are unique across runs on one system (inventory refuses a second host with the same address). */
let hostIps = 0;
function nextHostIp(): string {
  const n = ++hostIps;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** TEST-NET-3 addresses: a header value for per-IP limits, never a connection target. */
function ip(): string {
  return `203.0.113.${1 + Math.floor(Math.random() * 250)}`;
}
