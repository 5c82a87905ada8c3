import type { ConsumerInfo, NatsConnection, StreamInfo } from 'nats';
import { counter, gauge } from '@opsdesk/observability';

/**
 * NATS and JetStream health as seen by the services. Connection state comes from the client's status events;
 * stream and consumer numbers are read from the server (STREAM.INFO / CONSUMER.INFO), so they are the
 * broker's truth, not what this replica happens to hold.
 */
export const NatsMetrics = {
  connected: () => gauge('opsdesk_nats_connected', '1 while the NATS connection is up, 0 while it is disconnected or reconnecting', ['connection']),
  reconnects: () => counter('opsdesk_nats_reconnects_total', 'Times a NATS connection was re-established after a disconnect', ['connection']),
  disconnects: () => counter('opsdesk_nats_disconnects_total', 'Times a NATS connection was lost', ['connection']),
  consumerPending: () =>
    gauge('opsdesk_jetstream_consumer_num_pending', 'Messages of the stream not yet delivered to the consumer (server num_pending)', ['stream', 'consumer']),
  consumerAckPending: () =>
    gauge('opsdesk_jetstream_consumer_ack_pending', 'Messages delivered to the consumer and not yet acknowledged (server num_ack_pending)', ['stream', 'consumer']),
  consumerRedelivered: () =>
    gauge('opsdesk_jetstream_consumer_redelivered', 'Messages delivered more than once and not yet acknowledged (server num_redelivered)', ['stream', 'consumer']),
  streamMessages: () => gauge('opsdesk_jetstream_stream_messages', 'Messages held by the stream', ['stream']),
  streamBytes: () => gauge('opsdesk_jetstream_stream_bytes', 'Bytes held by the stream', ['stream']),
  streamConsumers: () => gauge('opsdesk_jetstream_stream_consumers', 'Consumers defined on the stream', ['stream']),
  streamInfoErrors: () =>
    counter('opsdesk_jetstream_info_errors_total', 'Failed reads of stream/consumer info from the server (NATS down or JetStream unavailable)', ['stream']),
};

/**
 * Keeps opsdesk_nats_connected / reconnects / disconnects up to date for one connection until it closes.
 * Runs in the background; a closed connection reads 0.
 */
export function watchNatsConnection(nc: NatsConnection, connection: string): void {
  const up = NatsMetrics.connected();
  const reconnects = NatsMetrics.reconnects();
  const disconnects = NatsMetrics.disconnects();
  up.set({ connection }, nc.isClosed() ? 0 : 1);
  reconnects.inc({ connection }, 0);
  disconnects.inc({ connection }, 0);
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect') {
        up.set({ connection }, 0);
        disconnects.inc({ connection });
      } else if (s.type === 'reconnect') {
        up.set({ connection }, 1);
        reconnects.inc({ connection });
      } else if (s.type === 'reconnecting') {
        up.set({ connection }, 0);
      }
    }
  })()
    .catch(() => undefined)
    .finally(() => up.set({ connection }, 0));
}

export function recordConsumerInfo(info: Pick<ConsumerInfo, 'stream_name' | 'name' | 'num_pending' | 'num_ack_pending' | 'num_redelivered'>): void {
  const labels = { stream: info.stream_name, consumer: info.name };
  NatsMetrics.consumerPending().set(labels, info.num_pending);
  NatsMetrics.consumerAckPending().set(labels, info.num_ack_pending);
  NatsMetrics.consumerRedelivered().set(labels, info.num_redelivered);
}

export function recordStreamInfo(info: Pick<StreamInfo, 'config' | 'state'>): void {
  const stream = info.config.name;
  NatsMetrics.streamMessages().set({ stream }, info.state.messages);
  NatsMetrics.streamBytes().set({ stream }, info.state.bytes);
  NatsMetrics.streamConsumers().set({ stream }, info.state.consumer_count);
}
