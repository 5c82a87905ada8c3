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

export interface NatsHandles {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
}

/**
 * Connects to NATS (a comma-separated cluster list is fine) and reconnects forever: a broker blip must
 * never kill a service, only pause its publishing (the outbox keeps what could not be sent).
 */
export async function connectNats(servers: string[], name: string): Promise<NatsHandles> {
  const nc = await connect({
    servers,
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    pingInterval: 10_000,
  });
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
    if (!same) await jsm.streams.update(opts.name, { ...info.config, ...config } as StreamConfig);
  } catch (err) {
    if (!isNotFound(err)) throw err;
    try {
      await jsm.streams.add(config);
    } catch (addErr) {
      // another service created it meanwhile
      if (!/already in use|exists/i.test(String((addErr as Error).message))) throw addErr;
    }
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
