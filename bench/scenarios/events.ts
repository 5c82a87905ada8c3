/**
 * events: the event pipeline.
 * 1. commit → audit visible at a fixed rate (BENCH_EVENT_RATE creates/s, default 50): each host create through
 *    the gateway is timed from its 201 (the transaction committed) until its host.created record is in the
 *    audit chain (polled every 5 ms); p50/p99. Baseline in the same round: a raw JetStream publish → a consumer
 *    on the same server receiving it, at the same rate (the transport's own floor).
 * 2. sustained audit ingest: BENCH_EVENT_INGEST events (default 20 000) published into the system's stream,
 *    drained by the real audit consumer into the chain (events/s), against a raw JetStream publish + pull
 *    consume of the same number of messages on the same server (msgs/s).
 */
import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, connect, type NatsConnection } from 'nats';
import { Pool } from 'pg';
import { openLoop, sleep } from '../lib/load';
import { figure, latencySummary } from '../lib/stats';
import { hostBody, startSystem } from '../lib/system';
import type { Row, Scenario } from '../lib/scenario';

function envelope(prefix: string, n: number): { subject: string; id: string; body: Buffer } {
  const ev = {
    id: randomUUID(),
    type: 'inventory.host.updated',
    version: 1,
    occurred_at: new Date().toISOString(),
    source: 'inventory',
    actor: { user_id: randomUUID(), email: `u${n % 50}@example.com`, ip: '10.0.0.1', user_agent: 'bench' },
    request_id: `r${n}`,
    subject: { entity_type: 'host', entity_id: `host-${n % 5000}` },
    data: { before: { owner: 'a' }, after: { owner: 'b' } },
  };
  return { subject: `${prefix}.${ev.type}`, id: ev.id, body: Buffer.from(JSON.stringify(ev)) };
}

async function rawPublishConsume(nc: NatsConnection, stream: string, prefix: string, count: number): Promise<number> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`] });
  try {
    const js = nc.jetstream();
    await jsm.consumers.add(stream, { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All });
    const consumer = await js.consumers.get(stream, 'raw');
    const t = process.hrtime.bigint();
    const consumed = (async () => {
      let got = 0;
      while (got < count) {
        const batch = await consumer.fetch({ max_messages: 500, expires: 2000 });
        for await (const m of batch) {
          m.ack();
          got++;
        }
      }
    })();
    const pubs: Array<Promise<unknown>> = [];
    for (let n = 0; n < count; n++) {
      const e = envelope(prefix, n);
      pubs.push(js.publish(e.subject, e.body, { msgID: e.id }));
      if (pubs.length >= 1000) await Promise.all(pubs.splice(0));
    }
    await Promise.all(pubs);
    await consumed;
    return count / (Number(process.hrtime.bigint() - t) / 1e9);
  } finally {
    await jsm.streams.delete(stream).catch(() => undefined);
  }
}

export const events: Scenario = {
  name: 'events',
  summary: 'commit → audit visible p50/p99 at a fixed rate; sustained audit ingest vs raw JetStream publish+consume',
  async run(ctx) {
    const rate = Number(process.env.BENCH_EVENT_RATE ?? 50);
    const seconds = Number(process.env.BENCH_EVENT_SECONDS ?? (ctx.quick ? 3 : 10));
    const ingest = Number(process.env.BENCH_EVENT_INGEST ?? (ctx.quick ? 3000 : 20_000));
    const sys = await startSystem({ cpuProfDir: ctx.cpuProfDir, label: 'benchevents' });
    const pool = new Pool({ connectionString: sys.db.url, max: 2 });
    const nc = await connect({ servers: sys.env.NATS_URL as string });
    try {
      const prefix = sys.env.EVENTS_SUBJECT_PREFIX as string;
      let n = 0;
      const rounds: Array<Record<string, unknown>> = [];
      const seq = async () => Number((await pool.query('SELECT seq FROM audit.chain_head')).rows[0]?.seq ?? 0);
      for (let r = 0; r < ctx.rounds + 1; r++) {
        const warm = r === 0;
        // 1. commit → audit visible
        const committed = new Map<string, number>();
        const visible: number[] = [];
        let polling = true;
        let deadline = Number.POSITIVE_INFINITY;
        const poller = (async () => {
          while (polling || committed.size > 0) {
            if (committed.size > 0) {
              const ids = [...committed.keys()];
              const { rows } = await pool.query(`SELECT entity_id FROM audit.records WHERE type = 'inventory.host.created' AND entity_id = ANY($1)`, [ids]);
              const now = performance.now();
              for (const row of rows as Array<{ entity_id: string }>) {
                const t = committed.get(row.entity_id);
                if (t !== undefined) {
                  visible.push(now - t);
                  committed.delete(row.entity_id);
                }
              }
            }
            if (!polling && Date.now() > deadline) break;
            await sleep(5);
          }
        })();
        const load = await openLoop(
          async () => {
            const res = await sys.api.req('POST', '/api/hosts', hostBody(sys.id, n++));
            if (res.status !== 201) return false;
            committed.set((JSON.parse(res.body.toString()) as { id: string }).id, performance.now());
            return true;
          },
          rate,
          warm ? 1 : seconds,
        );
        deadline = Date.now() + 60_000;
        polling = false;
        await poller;
        // baseline: raw JetStream at the same rate, publish → a consumer's delivery on the same server
        const rawPrefix = `bench_raw_${sys.id}_${r}`;
        const jsm = await nc.jetstreamManager();
        const stream = `BENCH_RAW_${sys.id.toUpperCase()}_${r}`;
        await jsm.streams.add({ name: stream, subjects: [`${rawPrefix}.>`] });
        const js = nc.jetstream();
        const sent = new Map<string, number>();
        const raw: number[] = [];
        const sub = await js.subscribe(`${rawPrefix}.>`, { config: { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.New, deliver_subject: `_INBOX.bench.${sys.id}.${r}` } });
        const receiving = (async () => {
          for await (const m of sub) {
            const id = m.headers?.get('Nats-Msg-Id') ?? '';
            const t = sent.get(id);
            if (t !== undefined) {
              raw.push(performance.now() - t);
              sent.delete(id);
            }
          }
        })();
        await openLoop(
          async (i) => {
            const e = envelope(rawPrefix, i);
            sent.set(e.id, performance.now());
            await js.publish(e.subject, e.body, { msgID: e.id });
            return true;
          },
          rate,
          warm ? 1 : seconds,
        );
        const until = Date.now() + 10_000;
        while (sent.size > 0 && Date.now() < until) await sleep(10);
        sub.unsubscribe();
        await receiving.catch(() => undefined);
        await jsm.streams.delete(stream).catch(() => undefined);
        if (warm) continue;
        const vis = latencySummary(visible);
        const base = latencySummary(raw);
        ctx.log(`round ${r}: commit→audit p50 ${vis.p50.toFixed(1)} p99 ${vis.p99.toFixed(1)} ms (${vis.n}/${load.ok}) | raw JetStream p50 ${base.p50.toFixed(2)} p99 ${base.p99.toFixed(2)} ms`);

        // 2. sustained ingest into the chain vs raw publish + consume
        const before = await seq();
        const t = process.hrtime.bigint();
        const pubs: Array<Promise<unknown>> = [];
        for (let k = 0; k < ingest; k++) {
          const e = envelope(prefix, k);
          pubs.push(js.publish(e.subject, e.body, { msgID: e.id }));
          if (pubs.length >= 1000) await Promise.all(pubs.splice(0));
        }
        await Promise.all(pubs);
        const ingestDeadline = Date.now() + 600_000;
        while ((await seq()) < before + ingest && Date.now() < ingestDeadline) await sleep(100);
        const auditRate = ingest / (Number(process.hrtime.bigint() - t) / 1e9);
        const rawRate = await rawPublishConsume(nc, `BENCH_RAWPC_${sys.id.toUpperCase()}_${r}`, `bench_rawpc_${sys.id}_${r}`, ingest);
        ctx.log(`round ${r}: audit ingest ${Math.round(auditRate)} events/s | raw JetStream publish+consume ${Math.round(rawRate)} msgs/s`);
        rounds.push({ visible: vis, raw_jetstream: base, creates: load.ok, audit_ingest_per_s: auditRate, raw_publish_consume_per_s: rawRate });
      }
      type R = { visible: ReturnType<typeof latencySummary>; raw_jetstream: ReturnType<typeof latencySummary>; audit_ingest_per_s: number; raw_publish_consume_per_s: number };
      const rs = rounds as unknown as R[];
      const rows: Row[] = [
        { figure: `commit → audit visible p50 at ${rate} creates/s`, unit: 'ms', system: figure(rs.map((r) => r.visible.p50)), baseline: figure(rs.map((r) => r.raw_jetstream.p50)), baseline_label: 'raw JetStream publish → delivery' },
        { figure: `commit → audit visible p99 at ${rate} creates/s`, unit: 'ms', system: figure(rs.map((r) => r.visible.p99)), baseline: figure(rs.map((r) => r.raw_jetstream.p99)), baseline_label: 'raw JetStream publish → delivery' },
        { figure: `sustained audit ingest (${ingest} events)`, unit: '/s', system: figure(rs.map((r) => r.audit_ingest_per_s)), baseline: figure(rs.map((r) => r.raw_publish_consume_per_s)), baseline_label: 'raw JetStream publish + pull consume', ratio: figure(rs.map((r) => (r.audit_ingest_per_s / r.raw_publish_consume_per_s) * 100)), ratio_label: '% of raw' },
      ];
      return { rows, detail: { rate, seconds, ingest, rounds } };
    } finally {
      await nc.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await sys.stop();
    }
  },
};
