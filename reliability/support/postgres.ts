// The fault suite's own Postgres cluster lives in @opsdesk/testing (own-postgres.ts), shared with the e2e suites
// that stop their database (observability-live, dependency outages).
export { startOwnPostgres, type OwnPostgres } from '@opsdesk/testing';
