import { headers as natsHeaders } from 'nats';
import { withNats } from './support/check';
import { writeReport } from './support/report';
import { runFault, streamLeader, type Fault, type RunOptions, type RunResult } from './support/run';
import { SERVICES, startSystem, type System } from './support/system';
import { freePort, waitFor } from '@opsdesk/testing';

/**
 * The fault suite (issue 8): the real system from dist/ on its own Postgres and nats-server, a steady mixed
 * load that records every acknowledged action, one fault per run, then the invariants (no loss, no duplicate,
 * one audit record each, a valid chain, no unexpected dead letter, no hang, no 500, recovery without restart).
 *
 *   RELIABILITY=ci    the bounded run (≈5 min): Postgres fast stop, kill -9 audit, NATS killed, a poison message
 *   RELIABILITY=full  every fault (`npm run test:reliability`); RELIABILITY_SOAK=1 adds the soak
 *   RELIABILITY_ONLY=postgres,poison   only the faults whose names contain one of these words
 * See docs/RELIABILITY.md.
 */
const MODE = process.env.RELIABILITY === 'full' ? 'full' : 'ci';
const ci = MODE === 'ci';
const RATE = Number(process.env.RELIABILITY_RATE ?? 48);
const CLIENTS = Number(process.env.RELIABILITY_CLIENTS ?? 8);
const SOAK_MIN = Number(process.env.RELIABILITY_SOAK_MINUTES ?? 10);
const HOLD = (fullS: number, ciS: number) => (ci ? ciS : fullS);
const POISON_SUBJECT = 'opsdesk.reliability.poison';

const kill = (service: string, sig: 'SIGKILL' | 'SIGTERM'): Fault => ({
  name: `${sig === 'SIGKILL' ? 'kill -9' : 'SIGTERM'} ${service}`,
  ci: sig === 'SIGKILL' && service === 'audit',
  // without the gateway there is nobody to answer: connections are refused, and in-flight ones torn down
  allow: service === 'gateway' ? ['refused', 'reset'] : service === 'artifacts' ? ['reset'] : [],
  async inject(system) {
    const inst = system.instance(service);
    const starts = inst.starts;
    await system.signal(service, sig);
    // healed when the supervisor (like npm start's) has started it again
    return async () => {
      await waitFor(() => inst.starts > starts, { timeoutMs: 10_000, what: `${service} to be restarted` });
    };
  },
});

const FAULTS: Fault[] = [
  {
    name: `Postgres stopped (fast), ${HOLD(15, 12)} s`,
    holdS: HOLD(15, 12),
    ci: true,
    noRestart: true,
    async inject(system, ctx) {
      system.pg!.stop('fast');
      await ctx.hold();
      return async () => system.pg!.start();
    },
  },
  kill('audit', 'SIGKILL'),
  {
    name: `NATS killed, ${HOLD(20, 10)} s`,
    holdS: HOLD(20, 10),
    ci: true,
    noRestart: true,
    async inject(system, ctx) {
      await system.nats!.signal('SIGKILL');
      await ctx.hold();
      return () => system.nats!.start();
    },
  },
  {
    name: `Postgres crashed (immediate stop), ${HOLD(15, 12)} s`,
    holdS: HOLD(15, 12),
    noRestart: true,
    async inject(system, ctx) {
      system.pg!.stop('immediate');
      await ctx.hold();
      return async () => system.pg!.start();
    },
  },
  {
    name: `NATS frozen (SIGSTOP), ${HOLD(20, 10)} s`,
    holdS: HOLD(20, 10),
    noRestart: true,
    async inject(system, ctx) {
      await system.nats!.signal('SIGSTOP');
      await ctx.hold();
      return () => system.nats!.signal('SIGCONT');
    },
  },
  ...SERVICES.filter((s) => s !== 'audit').map((s) => kill(s, 'SIGKILL')),
  ...SERVICES.map((s) => kill(s, 'SIGTERM')),
  {
    name: 'inventory: 2 replicas, one killed (-9, not restarted)',
    async inject(system) {
      const second = system.launch('inventory', 'inventory-2', await freePort());
      await system.waitReady(['inventory-2'], 60_000);
      second.noRestart = true;
      // let the queue group spread requests over both before one goes
      await new Promise((r) => setTimeout(r, 5000));
      await system.signal('inventory-2', 'SIGKILL');
      return async () => undefined;
    },
  },
  // last on its system: a message that is never settled would hold every later run's quiescence
  {
    name: 'poison message on the stream',
    ci: true,
    expectDeadLetters: { match: (d) => d.subject === POISON_SUBJECT, count: 1 },
    async inject(system) {
      await withNats(system, async (nc) => {
        const h = natsHeaders();
        h.set('Nats-Msg-Id', `poison-${Date.now()}`);
        await nc
          .jetstream()
          .publish(POISON_SUBJECT, new TextEncoder().encode('{"this is": not an event'), { headers: h });
      });
      return async () => undefined;
    },
  },
  {
    name: `NATS 3-node cluster, stream leader killed, ${HOLD(20, 10)} s`,
    holdS: HOLD(20, 10),
    cluster: true,
    noRestart: true,
    async inject(system, ctx) {
      const leader = await streamLeader(system);
      await system.cluster!.kill(leader);
      await ctx.hold();
      return () => system.cluster!.start(leader);
    },
  },
];
if (process.env.RELIABILITY_SOAK === '1') {
  FAULTS.push({
    name: `soak: ${SOAK_MIN} min steady load, no fault`,
    noRestart: true,
    soakMs: SOAK_MIN * 60_000,
    async inject() {
      return async () => undefined;
    },
  });
}

const only = (process.env.RELIABILITY_ONLY ?? '')
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
const selected = FAULTS.filter(
  (f) => (ci ? f.ci : true) && (!only.length || only.some((w) => f.name.toLowerCase().includes(w))),
);
const opts = (label: string): RunOptions => ({
  label,
  warmMs: ci ? 4000 : 6000,
  afterMs: ci ? 5000 : 8000,
  holdMs: 0,
  rate: RATE,
  clients: CLIENTS,
});

describe(`fault suite (${MODE}): nothing acknowledged is ever lost`, () => {
  const results: RunResult[] = [];
  const systems: Partial<Record<'single' | 'cluster', System>> = {};
  const stamp = Date.now().toString(36);

  afterAll(async () => {
    const failed = results.some((r) => r.violations.length > 0);
    for (const s of Object.values(systems)) await s?.stop(failed);
    if (failed)
      for (const s of Object.values(systems)) if (s) process.stdout.write(`service logs kept in ${s.dir}\n`);
    if (results.length) {
      const file = writeReport(
        results,
        { mode: MODE, when: new Date(), rate: RATE, clients: CLIENTS },
        process.env.RELIABILITY_DOCS === '1',
      );
      process.stdout.write(`reliability table: ${file}\n`);
    }
  }, 120_000);

  it.each(selected.map((f, i) => [f.name, f, i] as const))(
    '%s',
    async (_name, fault, i) => {
      const kind = fault.cluster ? 'cluster' : 'single';
      // one system per topology, reused by its runs: each run checks only its own actions
      const other = kind === 'cluster' ? 'single' : 'cluster';
      if (!systems[kind] && systems[other]) {
        // two cores: never two systems at once
        await systems[other]!.stop(results.some((r) => r.violations.length > 0));
        delete systems[other];
      }
      systems[kind] ??= await startSystem({ cluster: fault.cluster });
      // a run that cannot even finish is still a row of the table
      const r = await runFault(systems[kind]!, fault, {
        ...opts(`r${stamp}${i}`),
        holdMs: (fault.holdS ?? 0) * 1000,
      }).catch((err: Error): RunResult => ({
        fault: fault.name,
        ...{
          actions: 0,
          acked: 0,
          lost: 0,
          duplicated: 0,
          auditMissing: 0,
          errors: {},
          p99FaultMs: null,
          recoverS: null,
          deadLetters: 0,
          durationS: 0,
        },
        violations: [`the run did not complete: ${err.message}`],
      }));
      results.push(r);
      process.stdout.write(
        `${JSON.stringify({ fault: r.fault, acked: r.acked, lost: r.lost, dup: r.duplicated, auditMissing: r.auditMissing, errors: r.errors, p99: r.p99FaultMs, recoverS: r.recoverS, violations: r.violations })}\n`,
      );
      expect(r.violations).toEqual([]);
      expect(r.acked).toBeGreaterThan(0);
    },
    20 * 60_000,
  );
});
