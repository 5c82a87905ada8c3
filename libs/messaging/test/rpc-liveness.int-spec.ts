import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, type MicroserviceOptions } from '@nestjs/microservices';
import type { INestMicroservice } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { natsIsolation, testNatsAdminCredentials, TEST_NATS_URL, waitFor } from '@opsdesk/testing';
import { PrefixedNatsServer, RpcCallError, RpcClient } from '../src/rpc';
import { natsAuthOptions } from '../src/nats';

/**
 * A request in flight to an instance that dies fails within about a second (not at REQUEST_TIMEOUT), and a
 * read-only request is answered by another replica. "Dies" = its NATS connection closes without draining,
 * which is what the broker sees of a kill -9 (real NATS; the replicas are real Nest microservices).
 */
const accepted: string[] = [];

@Controller()
class HangingController {
  // a read-only pattern (IDEMPOTENT_RPC_PATTERNS) and a write, both of which hang on this replica
  @MessagePattern('inventory.hosts.list')
  list() {
    accepted.push('list');
    return new Promise(() => undefined);
  }

  @MessagePattern('inventory.hosts.create')
  create() {
    accepted.push('create');
    return new Promise(() => undefined);
  }
}

@Controller()
class AnsweringController {
  @MessagePattern('inventory.hosts.list')
  list() {
    return { items: ['from the healthy replica'] };
  }
}

@Module({ controllers: [HangingController] })
class HangingModule {}
@Module({ controllers: [AnsweringController] })
class AnsweringModule {}

async function replica(module: unknown, prefix: string): Promise<{ app: INestMicroservice; server: PrefixedNatsServer }> {
  const server = new PrefixedNatsServer({ servers: [TEST_NATS_URL], queue: 'inventory', ...natsAuthOptions(testNatsAdminCredentials()) }, prefix);
  const app = await NestFactory.createMicroservice<MicroserviceOptions>(module as never, { strategy: server, logger: false });
  await app.listen();
  return { app, server };
}

/** What the broker sees of kill -9: the connection goes away with no drain and no unsubscribe. */
async function killConnection(server: PrefixedNatsServer): Promise<void> {
  // Nest keeps the connection in a private field; reaching it is the point of this fault injection
  const nc = (server as unknown as { natsClient: NatsConnection }).natsClient;
  await nc.close();
}

describe('RPC: the instance holding a request dies (real NATS)', () => {
  const iso = natsIsolation('rpclive');
  let rpc: RpcClient;
  const apps: INestMicroservice[] = [];

  beforeAll(async () => {
    rpc = new RpcClient({ servers: [TEST_NATS_URL], subjectPrefix: iso.RPC_SUBJECT_PREFIX, timeoutMs: 20_000, name: 'liveness-client', livenessIntervalMs: 500, credentials: testNatsAdminCredentials() });
    await rpc.connect();
  });

  afterAll(async () => {
    for (const a of apps) await a.close().catch(() => undefined);
    await rpc.onModuleDestroy();
  });

  it('a write fails fast with UPSTREAM_UNAVAILABLE and is not sent again', async () => {
    const hanging = await replica(HangingModule, iso.RPC_SUBJECT_PREFIX);
    apps.push(hanging.app);
    accepted.length = 0;
    const started = Date.now();
    const call = rpc.callUnchecked('inventory.hosts.create', {}, { actor: null, request_id: 'live-1' });
    const outcome = call.then(() => 'answered', (e: unknown) => e);
    await waitFor(async () => accepted.includes('create'), { timeoutMs: 30_000, what: 'the replica accepted the write' });
    await killConnection(hanging.server);
    const err = await outcome;
    expect(err).toBeInstanceOf(RpcCallError);
    expect((err as RpcCallError).code).toBe('GATEWAY.UPSTREAM_UNAVAILABLE');
    expect((err as RpcCallError).payload.meta).toEqual({ retry_after: expect.any(Number) });
    expect(Date.now() - started).toBeLessThan(5000); // REQUEST_TIMEOUT here is 20 s
    expect(accepted.filter((a) => a === 'create')).toHaveLength(1);
  });

  it('a read is answered by another replica when the first one dies holding it', async () => {
    const hanging = await replica(HangingModule, iso.RPC_SUBJECT_PREFIX);
    apps.push(hanging.app);
    accepted.length = 0;
    const call = rpc.call('inventory.hosts.list', {}, { actor: null, request_id: 'live-2' });
    await waitFor(async () => accepted.includes('list'), { timeoutMs: 30_000, what: 'the hanging replica accepted the read' });
    // the healthy replica joins only now, so the first delivery surely went to the one that dies
    const healthy = await replica(AnsweringModule, iso.RPC_SUBJECT_PREFIX);
    apps.push(healthy.app);
    await killConnection(hanging.server);
    await expect(call).resolves.toEqual({ items: ['from the healthy replica'] });
  });

  it('a slow request to a live instance is not cut short', async () => {
    let release: (v: unknown) => void = () => undefined;
    @Controller()
    class SlowController {
      @MessagePattern('inventory.hosts.summary')
      summary() {
        return new Promise((r) => (release = r));
      }
    }
    @Module({ controllers: [SlowController] })
    class SlowModule {}
    const slow = await replica(SlowModule, iso.RPC_SUBJECT_PREFIX);
    apps.push(slow.app);
    const call = rpc.call('inventory.hosts.summary', {}, { actor: null, request_id: 'live-3' });
    // several liveness rounds (500 ms) pass while the live instance works
    await new Promise((r) => setTimeout(r, 2500));
    release({ total: 1 });
    await expect(call).resolves.toEqual({ total: 1 });
  });
});
