import type { JetStreamManager } from 'nats';
import type { EventEnvelope } from '@opsdesk/contracts';

/** Every message of a stream, in stream order (test helper: small streams only). */
export async function readStream(jsm: JetStreamManager, stream: string): Promise<Array<{ seq: number; subject: string; msgId: string | undefined; event: EventEnvelope }>> {
  const info = await jsm.streams.info(stream);
  const out = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m) continue;
    out.push({ seq, subject: m.subject, msgId: m.header?.get('Nats-Msg-Id') || undefined, event: m.json<EventEnvelope>() });
  }
  return out;
}
