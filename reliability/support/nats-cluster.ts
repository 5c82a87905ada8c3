// Moved to @opsdesk/testing (the deploy e2e suites start the same cluster); kept for the fault suite's imports.
export { startOwnNatsCluster, type NatsNode, type OwnNatsCluster } from '@opsdesk/testing';
