import { connect, type NatsConnection } from 'nats';
import { Client } from 'pg';
import { testNatsAdmin, waitFor } from '@opsdesk/testing';
import type { Action, ActionKind } from './load';
import type { System } from './system';

/** The audit record every acknowledged action must have, found by the request id the client sent. */
const AUDIT_TYPE: Record<ActionKind, string> = {
  'host.create': 'inventory.host.created',
  'host.update': 'inventory.host.updated',
  'host.delete': 'inventory.host.deleted',
  login: 'auth.login.succeeded',
  'artifact.upload': 'artifacts.artifact.uploaded',
  'artifact.download': 'artifacts.artifact.downloaded',
};
const REVISION_ACTION: Partial<Record<ActionKind, string>> = {
  'host.create': 'created',
  'host.update': 'updated',
  'host.delete': 'deleted',
};
const SCHEMAS = ['auth', 'inventory', 'audit', 'artifacts'];

export async function withDb<T>(system: System, fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: system.databaseUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function withNats<T>(system: System, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connect({ servers: system.natsUrl.split(','), timeout: 5000, ...testNatsAdmin() });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/**
 * Quiescence: nothing left to publish in any outbox and nothing pending or unacknowledged on any durable
 * consumer of the events stream, twice in a row. Only then can a missing effect be called lost.
 */
export async function waitQuiescent(system: System, timeoutMs = 120_000): Promise<void> {
  let calm = 0;
  let last = '';
  try {
    await waitFor(
      async () => {
        const waiting: string[] = [];
        await withDb(system, async (c) => {
          for (const s of SCHEMAS) {
            const n = Number(
              (await c.query(`SELECT count(*)::int AS n FROM "${s}".outbox WHERE published_at IS NULL`))
                .rows[0].n,
            );
            if (n) waiting.push(`${s} outbox ${n}`);
          }
        });
        await withNats(system, async (nc) => {
          const jsm = await nc.jetstreamManager();
          for await (const ci of jsm.consumers.list(system.streamName)) {
            if (ci.num_pending + ci.num_ack_pending)
              waiting.push(`${ci.name} pending ${ci.num_pending} unacked ${ci.num_ack_pending}`);
          }
        });
        last = waiting.join(', ');
        calm = waiting.length === 0 ? calm + 1 : 0;
        return calm >= 2;
      },
      { timeoutMs, intervalMs: 1000, what: 'quiescence' },
    );
  } catch (err) {
    throw new Error(
      `${(err as Error).message} (empty outboxes, no pending or unacknowledged events); still waiting: ${last}`,
    );
  }
}

export interface DeadLetter {
  schema: string;
  consumer: string;
  subject: string;
  reason: string;
}

export async function deadLetters(system: System): Promise<Array<DeadLetter & { id: number }>> {
  return withDb(system, async (c) => {
    const out: Array<DeadLetter & { id: number }> = [];
    for (const s of SCHEMAS) {
      const r = await c.query(
        `SELECT id::int AS id, consumer, subject, reason FROM "${s}".dead_letters ORDER BY id`,
      );
      for (const row of r.rows as Array<{ id: number; consumer: string; subject: string; reason: string }>)
        out.push({ schema: s, ...row });
    }
    return out;
  });
}

export interface Ledger {
  acked: number;
  /** acknowledged, and no effect */
  lost: string[];
  /** more than one effect or more than one audit record for one request */
  duplicated: string[];
  /** an effect (acknowledged or not) without its audit record */
  auditMissing: string[];
}

/** Looks up, in each owner's own tables, the effect and the audit record of every action of the run. */
export async function checkLedger(system: System, actions: Action[]): Promise<Ledger> {
  const rids = actions.map((a) => a.rid);
  const uas = actions.filter((a) => a.kind === 'login').map((a) => `opsdesk-reliability/${a.rid}`);
  const uploads = actions.filter((a) => a.kind === 'artifact.upload').map((a) => a.rid);
  const { revisions, sessions, artifacts, audit } = await withDb(system, async (c) => {
    const count = (rows: Array<{ k: string; n: number }>) => new Map(rows.map((r) => [r.k, Number(r.n)]));
    return {
      revisions: count(
        (
          await c.query(
            `SELECT request_id || '/' || action AS k, count(*)::int AS n FROM inventory.host_revisions WHERE request_id = ANY($1) GROUP BY 1`,
            [rids],
          )
        ).rows,
      ),
      sessions: count(
        (
          await c.query(
            `SELECT user_agent AS k, count(*)::int AS n FROM auth.sessions WHERE user_agent = ANY($1) GROUP BY 1`,
            [uas],
          )
        ).rows,
      ),
      artifacts: count(
        (
          await c.query(
            `SELECT description AS k, count(*)::int AS n FROM artifacts.artifacts WHERE description = ANY($1) GROUP BY 1`,
            [uploads],
          )
        ).rows,
      ),
      audit: count(
        (
          await c.query(
            `SELECT request_id || '/' || type AS k, count(*)::int AS n FROM audit.records WHERE request_id = ANY($1) GROUP BY 1`,
            [rids],
          )
        ).rows,
      ),
    };
  });
  const out: Ledger = { acked: 0, lost: [], duplicated: [], auditMissing: [] };
  for (const a of actions) {
    if (a.acked) out.acked++;
    let effects: number;
    if (REVISION_ACTION[a.kind]) effects = revisions.get(`${a.rid}/${REVISION_ACTION[a.kind]}`) ?? 0;
    else if (a.kind === 'login') effects = sessions.get(`opsdesk-reliability/${a.rid}`) ?? 0;
    else if (a.kind === 'artifact.upload') effects = artifacts.get(a.rid) ?? 0;
    // a download's only effect is its audit record; the bytes were checked when it was acknowledged
    else effects = a.acked ? 1 : (audit.get(`${a.rid}/${AUDIT_TYPE[a.kind]}`) ?? 0);
    const audited = audit.get(`${a.rid}/${AUDIT_TYPE[a.kind]}`) ?? 0;
    const tag = `${a.kind} ${a.rid} (${String(a.outcome)})`;
    if (a.acked && effects === 0) out.lost.push(tag);
    if (effects > 1 || audited > 1)
      out.duplicated.push(`${tag}: ${effects} effects, ${audited} audit records`);
    if (effects >= 1 && audited === 0) out.auditMissing.push(tag);
  }
  return out;
}

/** An admin access token, taken before quiescence so that its own login event is recorded before the chain is verified. */
export async function adminToken(url: string, email: string, password: string): Promise<string> {
  const login = await fetch(`${url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.251' },
    body: JSON.stringify({ email, password }),
  });
  if (login.status !== 200) throw new Error(`admin login failed (${login.status})`);
  return ((await login.json()) as { access_token: string }).access_token;
}

/** GET /api/audit/verify: the whole chain and its checkpoints. */
export async function verifyAudit(
  url: string,
  token: string,
): Promise<{ ok: boolean; checked: number; body: string }> {
  const res = await fetch(`${url}/api/audit/verify`, { headers: { authorization: `Bearer ${token}` } });
  const body = await res.text();
  const parsed = res.ok ? (JSON.parse(body) as { ok: boolean; checked: number }) : { ok: false, checked: 0 };
  return { ...parsed, body };
}
