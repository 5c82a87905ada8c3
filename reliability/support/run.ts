import { waitFor } from '@opsdesk/testing';
import {
  adminToken,
  checkLedger,
  deadLetters,
  verifyAudit,
  waitQuiescent,
  withNats,
  type DeadLetter,
} from './check';
import { Load, type Action } from './load';
import { ADMIN_EMAIL, ADMIN_PASSWORD, type System } from './system';

/** One fault: what it breaks, how long, how it heals, and which client errors it may legitimately cause. */
export interface Fault {
  name: string;
  /** part of the bounded CI run */
  ci?: boolean;
  /** how long the fault lasts before it is healed (0: healed at once, e.g. a supervisor restart) */
  holdS?: number;
  /** needs the system on a 3-node NATS cluster */
  cluster?: boolean;
  /** injects the fault; returns what heals it (resolves when the fault condition is removed) */
  inject(system: System, ctx: FaultContext): Promise<() => Promise<void>>;
  /** client outcomes allowed besides 503/504 problems (e.g. refused connections while the gateway is down) */
  allow?: Array<'refused' | 'reset'>;
  /** dead letters the fault creates on purpose: which, and how many (a poison message: exactly one) */
  expectDeadLetters?: { match: (d: DeadLetter) => boolean; count: number };
  /** Postgres or NATS faults: services must ride them out without a restart */
  noRestart?: boolean;
  /** load duration instead of warm-up + fault + after (the soak) */
  soakMs?: number;
}

export interface FaultContext {
  holdMs: number;
  /** waits the fault's hold time while the load runs */
  hold(): Promise<void>;
}

export interface RunResult {
  fault: string;
  actions: number;
  acked: number;
  lost: number;
  duplicated: number;
  auditMissing: number;
  /** client outcomes that were not acknowledgements, by status */
  errors: Record<string, number>;
  p99FaultMs: number | null;
  recoverS: number | null;
  deadLetters: number;
  rss?: { start: Record<string, number>; end: Record<string, number> };
  violations: string[];
  durationS: number;
}

export interface RunOptions {
  label: string;
  warmMs: number;
  afterMs: number;
  holdMs: number;
  rate: number;
  clients: number;
}

const p99 = (xs: number[]) =>
  xs.length ? xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil(xs.length * 0.99) - 1)] : null;
const during = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One run: steady load, one fault, healed, load a little longer, then quiescence and every invariant.
 * Violations are collected rather than thrown, so the table shows every run and the test fails at the end.
 */
export async function runFault(system: System, fault: Fault, o: RunOptions): Promise<RunResult> {
  const began = Date.now();
  const load = new Load({
    url: system.url,
    email: ADMIN_EMAIL,
    password: ADMIN_PASSWORD,
    clients: o.clients,
    rate: o.rate,
    label: o.label,
  });
  await load.prepare();
  const exitsBefore = system.exits.length;
  const deadBefore = new Set((await deadLetters(system)).map((d) => `${d.schema}/${d.id}`));
  const rssStart = system.rss();
  load.start();
  let faultAt = 0;
  let healAt = 0;
  let readyAt = 0;
  const violations: string[] = [];
  try {
    if (fault.soakMs) {
      await during(fault.soakMs);
    } else {
      await during(o.warmMs);
      faultAt = Date.now();
      const heal = await fault.inject(system, {
        holdMs: o.holdMs,
        hold: async () => void (await during(o.holdMs)),
      });
      await heal();
      healAt = Date.now();
      await waitFor(() => system.allReady(), {
        timeoutMs: 90_000,
        intervalMs: 200,
        what: `every service ready after ${fault.name}`,
      }).catch((e: Error) => violations.push(`not recovered: ${e.message}`));
      readyAt = Date.now();
      await during(o.afterMs);
    }
  } finally {
    await load.stop();
  }
  const rssEnd = system.rss();
  const token = await adminToken(system.url, ADMIN_EMAIL, ADMIN_PASSWORD);
  await waitQuiescent(system).catch((e: Error) => violations.push(e.message));
  const ledger = await checkLedger(system, load.actions);
  const verify = await verifyAudit(system.url, token).catch((e: Error) => ({
    ok: false,
    checked: 0,
    body: e.message,
  }));
  const newDead = (await deadLetters(system)).filter((d) => !deadBefore.has(`${d.schema}/${d.id}`));
  const unexpectedDead = newDead.filter((d) => !fault.expectDeadLetters?.match(d));
  const expectedDead = newDead.length - unexpectedDead.length;

  const errors: Record<string, number> = {};
  let lastError = 0;
  for (const a of load.actions) {
    if (a.acked) continue;
    const k = String(a.outcome);
    errors[k] = (errors[k] ?? 0) + 1;
    lastError = Math.max(lastError, a.t1);
  }
  const bad = (pred: (a: Action) => boolean) => load.actions.filter((a) => !a.acked && pred(a));
  const allowed = new Set<string>(fault.allow ?? []);
  const server = bad(
    (a) => typeof a.outcome === 'number' && a.outcome >= 500 && a.outcome !== 503 && a.outcome !== 504,
  );
  const notProblem = bad((a) => (a.outcome === 503 || a.outcome === 504) && !a.problem);
  const client4xx = bad((a) => typeof a.outcome === 'number' && a.outcome < 500);
  const other = bad((a) => typeof a.outcome === 'string' && !allowed.has(a.outcome));
  if (ledger.lost.length)
    violations.push(
      `${ledger.lost.length} acknowledged actions lost, e.g. ${ledger.lost.slice(0, 3).join('; ')}`,
    );
  if (ledger.duplicated.length)
    violations.push(
      `${ledger.duplicated.length} duplicated, e.g. ${ledger.duplicated.slice(0, 3).join('; ')}`,
    );
  if (ledger.auditMissing.length)
    violations.push(
      `${ledger.auditMissing.length} effects without an audit record, e.g. ${ledger.auditMissing.slice(0, 3).join('; ')}`,
    );
  if (!verify.ok) violations.push(`/api/audit/verify not ok: ${verify.body.slice(0, 300)}`);
  if (unexpectedDead.length)
    violations.push(
      `${unexpectedDead.length} unexpected dead letters: ${JSON.stringify(unexpectedDead.slice(0, 3))}`,
    );
  if (fault.expectDeadLetters && expectedDead !== fault.expectDeadLetters.count) {
    violations.push(
      `the injected message was dead-lettered ${expectedDead} times (expected ${fault.expectDeadLetters.count})`,
    );
  }
  if (server.length)
    violations.push(
      `${server.length} server errors other than 503/504 (${[...new Set(server.map((a) => a.outcome))].join(', ')}), e.g. ${server[0].kind} ${server[0].rid}: ${server[0].detail}`,
    );
  if (notProblem.length)
    violations.push(
      `${notProblem.length} 503/504 answers that were not problem+json, e.g. ${notProblem[0].kind} ${notProblem[0].rid}: ${notProblem[0].detail}`,
    );
  if (client4xx.length)
    violations.push(
      `${client4xx.length} unexpected 4xx (${[...new Set(client4xx.map((a) => a.outcome))].join(', ')}), e.g. ${client4xx[0].kind} ${client4xx[0].rid}`,
    );
  if (other.length)
    violations.push(
      `${other.length} requests ${[...new Set(other.map((a) => a.outcome))].join('/')} (hung past REQUEST_TIMEOUT, torn down or corrupt)`,
    );
  const crashes = system.exits.slice(exitsBefore).filter((e) => !e.induced);
  if (crashes.length)
    violations.push(
      `services exited by themselves: ${crashes.map((e) => `${e.instance} (${e.signal ?? e.code})`).join(', ')}`,
    );
  if (fault.noRestart && crashes.length) violations.push('a service needed a restart to recover');

  const window = load.actions.filter(
    (a) => faultAt && a.t0 >= faultAt && a.t0 <= Math.max(readyAt, lastError),
  );
  const recovered = Math.max(readyAt, lastError > healAt ? lastError : 0);
  return {
    fault: fault.name,
    actions: load.actions.length,
    acked: ledger.acked,
    lost: ledger.lost.length,
    duplicated: ledger.duplicated.length,
    auditMissing: ledger.auditMissing.length,
    errors,
    p99FaultMs: faultAt ? p99(window.map((a) => a.t1 - a.t0)) : p99(load.actions.map((a) => a.t1 - a.t0)),
    recoverS: faultAt ? Math.max(0, (recovered - healAt) / 1000) : null,
    deadLetters: newDead.length,
    rss: fault.soakMs ? { start: rssStart, end: rssEnd } : undefined,
    violations,
    durationS: (Date.now() - began) / 1000,
  };
}

/** The leader of the events stream's Raft group (cluster runs), as nats-server names it. */
export async function streamLeader(system: System): Promise<string> {
  return withNats(system, async (nc) => {
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.info(system.streamName);
    if (!info.cluster?.leader) throw new Error('the events stream has no leader');
    return info.cluster.leader;
  });
}
