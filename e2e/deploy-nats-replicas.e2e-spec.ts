import { connect } from 'nats';
import { DEFAULT_EVENT_SUBJECT_PREFIX, DEFAULT_EVENTS_STREAM, DEFAULT_REVOCATION_BUCKET } from '@opsdesk/contracts';
import { NATS_PROVISION_USER, natsIsolation, startOwnNatsCluster, waitFor, type OwnNatsCluster, startOwnNatsServer, testNatsAdmin, testNatsLogin, type OwnNatsServer } from '@opsdesk/testing';
import { assertBucketReplicas, connectNats, ensureEventsStream, provisionNatsFromEnv } from '@opsdesk/messaging';


/**
 * NATS_STREAM_REPLICAS (issue 13) applied to the events stream AND the revocation KV bucket by provisioning,
 * and checked by every service at start: on a real 3-node cluster from deploy/nats/nats-cluster.conf an
 * existing R1 stream and bucket are brought to R3; a service login (which may not change the stream) and a
 * single node (which cannot hold 3 replicas) stop start-up with a line that says why.
 */
jest.setTimeout(180_000);

/** configured replicas, and the distinct servers holding a current copy once the change has settled */
async function replicasOf(url: string, stream: string): Promise<{ replicas: number; peers: number }> {
  const nc = await connect({ servers: url.split(','), ...testNatsAdmin() });
  try {
    const jsm = await nc.jetstreamManager();
    let last = { replicas: 0, peers: 0 };
    await waitFor(
      async () => {
        const info = await jsm.streams.info(stream);
        const current = (info.cluster?.replicas ?? []).filter((r) => r.current && r.name !== info.cluster?.leader).map((r) => r.name);
        last = { replicas: info.config.num_replicas, peers: new Set([info.cluster?.leader, ...current].filter(Boolean)).size };
        return last.peers === last.replicas;
      },
      { timeoutMs: 30_000, what: `${stream}: a current copy on each of its replicas` },
    ).catch(() => undefined);
    return last;
  } finally {
    await nc.close();
  }
}

describe('NATS stream and revocation bucket replicas on a 3-node cluster (deploy/nats)', () => {
  let cluster: OwnNatsCluster;
  // the cluster is the suite's own and runs the shipped permissions, which name the production stream and bucket
  const names = { EVENTS_STREAM: DEFAULT_EVENTS_STREAM, EVENTS_SUBJECT_PREFIX: DEFAULT_EVENT_SUBJECT_PREFIX, REVOCATION_BUCKET: DEFAULT_REVOCATION_BUCKET };
  const env = (replicas: number): NodeJS.ProcessEnv => ({ ...names, NATS_URL: cluster.url, NATS_STREAM_REPLICAS: String(replicas) });

  beforeAll(async () => {
    cluster = await startOwnNatsCluster();
  });
  afterAll(async () => {
    await cluster?.cleanup();
  });

  it('an existing R1 stream and R1 bucket are brought to R3 by provisioning (every peer holds them)', async () => {
    await provisionNatsFromEnv(env(1), testNatsLogin(NATS_PROVISION_USER));
    expect(await replicasOf(cluster.url, names.EVENTS_STREAM)).toEqual({ replicas: 1, peers: 1 });
    expect((await replicasOf(cluster.url, `KV_${names.REVOCATION_BUCKET}`)).replicas).toBe(1);

    // a service started with 3 whose login may only look at the stream: refused with what to run
    const inventory = await connectNats(cluster.url.split(','), 'replicas-inventory', testNatsLogin('inventory'));
    try {
      await expect(ensureEventsStream(inventory.jsm, { name: names.EVENTS_STREAM, subjectPrefix: names.EVENTS_SUBJECT_PREFIX, replicas: 3 })).rejects.toThrow(
        `NATS stream ${names.EVENTS_STREAM} has 1 replica(s) but NATS_STREAM_REPLICAS is 3, and changing it failed: NATS stream ${names.EVENTS_STREAM} is missing or differs from its configuration, and this login may not change it: run \`npm run provision:nats\``,
      );
    } finally {
      await inventory.nc.close();
    }
    // auth, which writes the revocation bucket, checks its replicas at start the same way (revocation.service.ts)
    const auth = await connectNats(cluster.url.split(','), 'replicas-auth', testNatsLogin('auth'));
    try {
      await expect(assertBucketReplicas(auth.jsm, names.REVOCATION_BUCKET, 3)).rejects.toThrow(
        `NATS bucket ${names.REVOCATION_BUCKET} (stream KV_${names.REVOCATION_BUCKET}) has 1 replica(s) but NATS_STREAM_REPLICAS is 3: run \`npm run provision:nats\` (the Helm provision job) to raise it`,
      );
    } finally {
      await auth.nc.close();
    }

    await provisionNatsFromEnv(env(3), testNatsLogin(NATS_PROVISION_USER));
    expect(await replicasOf(cluster.url, names.EVENTS_STREAM)).toEqual({ replicas: 3, peers: 3 });
    expect(await replicasOf(cluster.url, `KV_${names.REVOCATION_BUCKET}`)).toEqual({ replicas: 3, peers: 3 });

    // now the same service start check passes, and provisioning again changes nothing
    const again = await connectNats(cluster.url.split(','), 'replicas-inventory', testNatsLogin('inventory'));
    try {
      await ensureEventsStream(again.jsm, { name: names.EVENTS_STREAM, subjectPrefix: names.EVENTS_SUBJECT_PREFIX, replicas: 3 });
    } finally {
      await again.nc.close();
    }
    const authAgain = await connectNats(cluster.url.split(','), 'replicas-auth', testNatsLogin('auth'));
    try {
      await assertBucketReplicas(authAgain.jsm, names.REVOCATION_BUCKET, 3);
    } finally {
      await authAgain.nc.close();
    }
    await provisionNatsFromEnv(env(3), testNatsLogin(NATS_PROVISION_USER));
    expect((await replicasOf(cluster.url, `KV_${names.REVOCATION_BUCKET}`)).replicas).toBe(3);
  });
});

describe('NATS_STREAM_REPLICAS above what the NATS deployment can hold', () => {
  let nats: OwnNatsServer;
  beforeAll(async () => {
    nats = await startOwnNatsServer();
  });
  afterAll(async () => {
    await nats?.cleanup();
  });

  it('a single node refuses 3 replicas and provisioning says why in one line', async () => {
    const names = natsIsolation('replicas1');
    const err = await provisionNatsFromEnv({ ...names, NATS_URL: nats.url, NATS_STREAM_REPLICAS: '3' }, testNatsLogin(NATS_PROVISION_USER)).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe('StreamReplicasError');
    expect(err?.message).toMatch(new RegExp(`^NATS stream ${names.EVENTS_STREAM} cannot be created with NATS_STREAM_REPLICAS 3: .+ \\(the NATS deployment has fewer JetStream servers than 3: run a 3-node cluster or lower NATS_STREAM_REPLICAS\\)$`));
    expect(err?.message).not.toContain('\n');
  });
});
