import {
  connect,
  type JetStreamClient,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
  RetentionPolicy,
  StorageType,
  DiscardPolicy,
  nanos,
} from 'nats';
import { watchNatsConnection } from './nats-metrics';
import { DEFAULT_EVENT_SUBJECT_PREFIX, DEFAULT_EVENTS_STREAM, DEFAULT_REVOCATION_BUCKET, natsInboxPrefix } from '@opsdesk/contracts';

export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/** A NATS login (NATS_USER / NATS_PASSWORD); absent only against a broker without authorisation. */
export interface NatsCredentials {
  user?: string;
  pass?: string;
}

/**
 * Connection options for a login: user/password, and replies on the login's own inbox prefix
 * (`_INBOX_<user>`), the only inbox its permissions let it subscribe to.
 */
export function natsAuthOptions(creds?: NatsCredentials): { user?: string; pass?: string; inboxPrefix?: string } {
  if (!creds?.user) return {};
  return { user: creds.user, pass: creds.pass, inboxPrefix: natsInboxPrefix(creds.user) };
}

/**
 * Connects to NATS (a comma-separated cluster list is fine) and reconnects forever: a broker blip must
 * never kill a service, only pause its publishing (the outbox keeps what could not be sent).
 */
export async function connectNats(servers: string[], name: string, creds?: NatsCredentials): Promise<NatsHandles> {
  const nc = await connect({
    servers,
    name,
    ...natsAuthOptions(creds),
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  });
  watchNatsConnection(nc, name);
  const jsm = await nc.jetstreamManager({ timeout: 10_000 });
  const js = nc.jetstream({ timeout: 10_000 });
  return { nc, js, jsm };
}

export interface EventsStreamOptions {
  name: string;
  subjectPrefix: string;
  replicas?: number;
  /** ≥ 2 minutes (SPEC §2): the relay's retry after a crash falls inside it and JetStream drops the copy */
  duplicateWindowMs?: number;
  maxAgeDays?: number;
}

/** Creates or updates the events stream (file storage, dedup window). Safe to call from every service. */
export async function ensureEventsStream(jsm: JetStreamManager, opts: EventsStreamOptions): Promise<void> {
  const config: Partial<StreamConfig> = {
    name: opts.name,
    subjects: [`${opts.subjectPrefix}.>`],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: opts.replicas ?? 1,
    duplicate_window: nanos(Math.max(opts.duplicateWindowMs ?? 5 * 60_000, 2 * 60_000)),
    max_age: nanos((opts.maxAgeDays ?? 30) * 24 * 3600_000),
  };
  try {
    const info = await jsm.streams.info(opts.name);
    const same =
      info.config.subjects?.join(',') === config.subjects?.join(',') &&
      info.config.duplicate_window === config.duplicate_window &&
      info.config.num_replicas === config.num_replicas;
    if (!same) await jsm.streams.update(opts.name, { ...info.config, ...config } as StreamConfig).catch((e: unknown) => {
        throw replicasRefused(notProvisioned(e, opts.name), opts.name, info.config.num_replicas, config.num_replicas ?? 1);
      });
  } catch (err) {
    if (err instanceof StreamReplicasError) throw err;
    if (!isNotFound(err)) throw notProvisioned(err, opts.name);
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // another service created it meanwhile
      if (!/already in use|exists/i.test(String((addErr as Error).message)))
        throw replicasRefused(notProvisioned(addErr, opts.name), opts.name, null, config.num_replicas ?? 1);
    }
  }
}

/** Start-up stops with this when a stream cannot get the configured replicas: the line says why. */
export class StreamReplicasError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StreamReplicasError';
  }
}

/**
 * An update that changes num_replicas and fails: say what was asked (NATS_STREAM_REPLICAS), what the stream
 * has, and the likely cause (a cluster with fewer JetStream servers than replicas), not a bare API error.
 */
function replicasRefused(err: Error, stream: string, has: number | null, wants: number): Error {
  const small = /insufficient resources|no suitable peers|not supported in non-clustered mode/i.test(err.message);
  if (has === wants || (has === null && !small)) return err;
  const what = has === null ? `cannot be created with NATS_STREAM_REPLICAS ${wants}` : `has ${has} replica(s) but NATS_STREAM_REPLICAS is ${wants}, and changing it failed`;
  return new StreamReplicasError(
    `NATS stream ${stream} ${what}: ${err.message}` +
      (small ? ` (the NATS deployment has fewer JetStream servers than ${wants}: run a ${wants}-node cluster or lower NATS_STREAM_REPLICAS)` : ''),
  );
}

/**
 * Start check of a service that only reads and writes a KV bucket (its login may not change it): the bucket must
 * have at least the configured replicas, else a logout could be lost with one NATS node. Provisioning
 * (`npm run provision:nats`, the Helm provision job) is what raises them.
 */
export async function assertBucketReplicas(jsm: Pick<JetStreamManager, 'streams'>, bucket: string, replicas: number): Promise<void> {
  const stream = `KV_${bucket}`;
  const has = (await jsm.streams.info(stream)).config.num_replicas;
  if (has < replicas)
    throw new StreamReplicasError(`NATS bucket ${bucket} (stream ${stream}) has ${has} replica(s) but NATS_STREAM_REPLICAS is ${replicas}: run \`npm run provision:nats\` (the Helm provision job) to raise it`);
}

/**
 * Brings an existing stream (e.g. a KV bucket's `KV_<bucket>`, which `views.kv` never changes once created)
 * to `replicas`; resolves to the replicas it had. Throws StreamReplicasError with the reason when it cannot.
 */
export async function ensureStreamReplicas(jsm: JetStreamManager, stream: string, replicas: number): Promise<number> {
  const info = await jsm.streams.info(stream);
  const has = info.config.num_replicas;
  if (has === replicas) return has;
  await jsm.streams.update(stream, { ...info.config, num_replicas: replicas }).catch((e: unknown) => {
    throw replicasRefused(notProvisioned(e, stream), stream, has, replicas);
  });
  return has;
}

/**
 * With authorisation on, services may only look at the stream (nats-permissions.ts): creating or changing
 * it is the provisioning login's job, so say what to run instead of a bare "Permissions Violation".
 */
function notProvisioned(err: unknown, stream: string): Error {
  if (!isPermissionError(err)) return err as Error;
  return new Error(`NATS stream ${stream} is missing or differs from its configuration, and this login may not change it: run \`npm run provision:nats\` with the provision login (NATS_USER=provision)`);
}

export function isPermissionError(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === 'PERMISSIONS_VIOLATION' || /permissions violation/i.test(e?.message ?? '');
}

export interface ProvisionOptions extends EventsStreamOptions {
  /** the revocation KV bucket and how long its entries live (the longest access-token lifetime + slack) */
  revocationBucket: string;
  revocationTtlMs: number;
}

/**
 * Creates (or brings up to date) what the services only look at: the events stream and the revocation
 * bucket. Run with the `provision` login by `npm run provision:nats` / `npm start`; idempotent.
 */
export async function provisionNats(nats: NatsHandles, opts: ProvisionOptions): Promise<void> {
  await ensureEventsStream(nats.jsm, opts);
  const replicas = opts.replicas ?? 1;
  await nats.js.views.kv(opts.revocationBucket, { history: 1, ttl: opts.revocationTtlMs, replicas }).catch((e: unknown) => {
    throw replicasRefused(e as Error, `KV_${opts.revocationBucket}`, null, replicas);
  });
  // an existing bucket keeps the replicas it was created with: a logout must survive losing a node too
  await ensureStreamReplicas(nats.jsm, `KV_${opts.revocationBucket}`, replicas);
  // read back: both must now have what was asked (a server that silently ignores it is caught here)
  for (const stream of [opts.name, `KV_${opts.revocationBucket}`]) {
    const has = (await nats.jsm.streams.info(stream)).config.num_replicas;
    if (has !== replicas) throw new StreamReplicasError(`NATS stream ${stream} has ${has} replica(s) after provisioning, NATS_STREAM_REPLICAS is ${replicas}`);
  }
}

/**
 * provisionNats with the names and login of an environment (the services' variables and their defaults;
 * NATS_USER / NATS_PASSWORD are the provision login's here, or `creds`): `npm run provision:nats`, `npm start`
 * and the test stacks.
 */
export async function provisionNatsFromEnv(env: NodeJS.ProcessEnv, creds?: NatsCredentials): Promise<void> {
  const servers = (env.NATS_URL || 'nats://127.0.0.1:4222').split(',').map((s) => s.trim()).filter(Boolean);
  const nats = await connectNats(servers, 'opsdesk-provision', creds ?? { user: env.NATS_USER || undefined, pass: env.NATS_PASSWORD || undefined });
  try {
    await provisionNats(nats, {
      name: env.EVENTS_STREAM || DEFAULT_EVENTS_STREAM,
      subjectPrefix: env.EVENTS_SUBJECT_PREFIX || DEFAULT_EVENT_SUBJECT_PREFIX,
      replicas: Number(env.NATS_STREAM_REPLICAS || 1),
      revocationBucket: env.REVOCATION_BUCKET || DEFAULT_REVOCATION_BUCKET,
      // auth's RevocationService keeps entries for the longest access-token lifetime plus an hour
      revocationTtlMs: (Number(env.JWT_EXPIRATION_HOURS || 24) + 1) * 3600_000,
    });
  } finally {
    await nats.nc.close();
  }
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: string; api_error?: { err_code?: number }; message?: string };
  return e?.code === '404' || e?.api_error?.err_code === 10059 || e?.api_error?.err_code === 10014 || /not found/i.test(e?.message ?? '');
}

export async function isNatsUsable(nc: NatsConnection | null, timeoutMs = 2000): Promise<boolean> {
  if (!nc || nc.isClosed()) return false;
  try {
    await Promise.race([
      nc.flush(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('nats flush timeout')), timeoutMs).unref()),
    ]);
    return true;
  } catch {
    return false;
  }
}
