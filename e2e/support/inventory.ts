import { connect, AckPolicy, DeliverPolicy, type NatsConnection } from 'nats';
import type { Stack } from './stack';
import { testNatsAdmin } from '@opsdesk/testing';
import { createOpsDeskClient, type Host, type operations } from '@opsdesk/client';

type HostCreateBody = operations['hosts.create']['requestBody']['content']['application/json'];

export const bearer = (t: string) => ({ Authorization: `Bearer ${t}` });

let seq = 0;
/** A valid host body with unique hostname and ip (override what the test is about). */
export function hostBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  return {
    hostname: `host-${process.pid}-${seq}`,
    ip: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`,
    environment: 'dev',
    os: 'linux',
    criticality: 'low',
    ...over,
  };
}

export async function createHost(stack: Stack, token: string, over: Record<string, unknown> = {}): Promise<Record<string, unknown> & { id: string; version: number }> {
  // the body is the test's own (deliberately loose: suites pass odd values), sent through the typed client
  const { data, error, response } = await createOpsDeskClient({ baseUrl: stack.url, token }).POST('/api/hosts', { body: hostBody(over) as HostCreateBody });
  if (!data) throw new Error(`create host failed: ${response.status} ${JSON.stringify(error)}`);
  return data as Record<string, unknown> & Host;
}

/** Reads every event of one type from the suite's own stream (ordered, ephemeral consumer). */
export async function streamEvents(stack: Stack, type: string): Promise<Array<Record<string, unknown> & { data: Record<string, unknown> }>> {
  const nc: NatsConnection = await connect({ servers: stack.env.NATS_URL as string, ...testNatsAdmin() });
  try {
    const jsm = await nc.jetstreamManager();
    const stream = stack.env.EVENTS_STREAM as string;
    const subject = `${stack.env.EVENTS_SUBJECT_PREFIX}.${type}`;
    const info = await jsm.streams.info(stream);
    if (info.state.messages === 0) return [];
    const ci = await jsm.consumers.add(stream, { ack_policy: AckPolicy.None, deliver_policy: DeliverPolicy.All, filter_subject: subject, inactive_threshold: 30_000_000_000 });
    const js = nc.jetstream();
    const consumer = await js.consumers.get(stream, ci.name);
    const out: Array<Record<string, unknown> & { data: Record<string, unknown> }> = [];
    const pending = ci.num_pending;
    if (pending === 0) return out;
    const iter = await consumer.fetch({ max_messages: pending, expires: 2000 });
    for await (const m of iter) {
      out.push(m.json());
      if (out.length >= pending) break;
    }
    await jsm.consumers.delete(stream, ci.name).catch(() => undefined);
    return out;
  } finally {
    await nc.close();
  }
}
