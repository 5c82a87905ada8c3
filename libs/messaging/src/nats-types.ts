export { AckPolicy, DeliverPolicy, nanos } from 'nats';
export type { ConsumerConfig, ConsumerMessages, JsMsg } from 'nats';
export type { NatsHandles } from './nats';
