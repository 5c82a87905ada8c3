// jest globalTeardown: stops the run's authorised nats-server (see nats-global-setup.ts).
export { teardown as default } from './nats-global-setup';
