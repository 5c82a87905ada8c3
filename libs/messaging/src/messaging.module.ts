import {
  DynamicModule,
  Global,
  Inject,
  Injectable,
  Logger,
  Module,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type BeforeApplicationShutdown,
  type Provider,
  SetMetadata,
} from '@nestjs/common';
import { DiscoveryModule, DiscoveryService, MetadataScanner } from '@nestjs/core';
import { ExternalContextCreator } from '@nestjs/core/helpers/external-context-creator';
import { isObservable, lastValueFrom } from 'rxjs';
import type { DataSource } from 'typeorm';
import { connectNats, ensureEventsStream, type NatsCredentials, type NatsHandles } from './nats';
import { PipelineMonitor } from './dead-letters';
import { OutboxRelay, OutboxWriter, type RelayOptions } from './outbox';
import { InboxConsumer, type DeliveryMeta, type InboxBatchHandler, type InboxConsumerOptions } from './inbox';
import { RpcClient, type RpcClientOptions } from './rpc';
import type { EventEnvelope } from '@opsdesk/contracts';
import type { EntityManager } from 'typeorm';

/**
 * The service's DataSource, under a token of this module: the classes here inject it by this token, not by the
 * `DataSource` class, so a process without a schema (the gateway) never loads TypeORM (≈ 6 MB of heap and 300
 * modules; docs/PERFORMANCE.md, change 16). A service with a schema gets it aliased to its DataSource.
 */
export const MESSAGING_DATA_SOURCE = Symbol('MESSAGING_DATA_SOURCE');

export interface MessagingModuleOptions {
  /** service name: NATS connection name, queue group, event `source`, durable consumer prefix */
  service: string;
  servers: string[];
  /** the service's own NATS login (NATS_USER / NATS_PASSWORD) */
  credentials?: NatsCredentials;
  stream: string;
  eventPrefix: string;
  rpcPrefix: string;
  requestTimeoutMs: number;
  streamReplicas?: number;
  /** the service's own schema: enables the outbox writer, the relay and event consumers */
  schema?: string;
  relay?: Partial<Omit<RelayOptions, 'schema'>>;
  consumer?: Partial<Pick<InboxConsumerOptions, 'maxDeliver' | 'ackWaitMs' | 'afterCommit'>>;
  /** signs the caller context of this process's outgoing RPCs (RpcClientOptions.signContext) */
  signRpcContext?: RpcClientOptions['signContext'];
}

export const MESSAGING_OPTIONS = Symbol('MESSAGING_OPTIONS');
export const NATS_HANDLES = Symbol('NATS_HANDLES');

export const EVENT_HANDLER_METADATA = 'opsdesk:event-handler';
export interface EventHandlerOptions {
  /** subject filter below the event prefix: an event type (`inventory.host.deleted`) or a wildcard (`>`) */
  filter: string;
  /** durable consumer name suffix; the full name is `<service>-<name>` */
  name: string;
  maxDeliver?: number;
  /** handle up to this many already-delivered messages per transaction (see InboxConsumer) */
  transactionBatch?: number;
  /**
   * The method takes a whole batch: (items: Array<{event, meta}>, manager). Use with transactionBatch for
   * writers that gain from multi-row statements (the audit recorder).
   */
  batch?: boolean;
  /**
   * The event types the method has an effect for, when `filter` is wider: the others are acknowledged without
   * a transaction or an inbox row (InboxConsumer `handles`). Unset: every event matching `filter`.
   */
  types?: readonly string[];
}

/**
 * Marks a provider method as a JetStream event handler (discovered at boot, like @MessagePattern).
 * Signature: (event: EventEnvelope, manager: EntityManager, meta: DeliveryMeta) => Promise<void>;
 * the method runs inside the inbox transaction, through Nest's interceptors and guards.
 */
export const EventHandler = (options: EventHandlerOptions): MethodDecorator => SetMetadata(EVENT_HANDLER_METADATA, options);

@Injectable()
export class NatsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(NATS_HANDLES) private readonly nats: NatsHandles) {}
  async onApplicationShutdown(): Promise<void> {
    if (!this.nats.nc.isClosed()) await this.nats.nc.drain().catch(() => this.nats.nc.close());
  }
}

@Injectable()
export class OutboxRelayService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('OutboxRelay');
  readonly relay: OutboxRelay;
  constructor(
    @Inject(MESSAGING_OPTIONS) opts: MessagingModuleOptions,
    @Inject(NATS_HANDLES) nats: NatsHandles,
    @Inject(MESSAGING_DATA_SOURCE) dataSource: DataSource,
  ) {
    this.relay = new OutboxRelay(dataSource, nats.js, { ...opts.relay, schema: opts.schema as string, logger: this.logger });
  }
  private started = false;

  // A hybrid app (HTTP + NATS microservice) runs bootstrap hooks twice; start once.
  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.relay.start();
  }
  async beforeApplicationShutdown(): Promise<void> {
    await this.relay.stop();
  }
}

/** Finds every @EventHandler method and runs one durable inbox consumer per handler. */
@Injectable()
export class EventConsumersService implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('EventConsumers');
  readonly consumers: InboxConsumer[] = [];

  constructor(
    @Inject(MESSAGING_OPTIONS) private readonly opts: MessagingModuleOptions,
    @Inject(NATS_HANDLES) private readonly nats: NatsHandles,
    @Inject(MESSAGING_DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly externalContextCreator: ExternalContextCreator,
  ) {}

  private started = false;

  // A hybrid app (HTTP + NATS microservice) runs bootstrap hooks twice; start the consumers once.
  async onApplicationBootstrap(): Promise<void> {
    if (this.started) return;
    this.started = true;
    for (const wrapper of this.discovery.getProviders()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || typeof instance !== 'object' || !wrapper.isDependencyTreeStatic()) continue;
      const proto = Object.getPrototypeOf(instance) as object;
      for (const methodName of this.scanner.getAllMethodNames(proto)) {
        const method = instance[methodName] as (...args: unknown[]) => unknown;
        const meta = Reflect.getMetadata(EVENT_HANDLER_METADATA, method) as EventHandlerOptions | undefined;
        if (!meta) continue;
        // Run through Nest's context creator so interceptors/guards/filters declared on the method apply.
        const invoke = this.externalContextCreator.create(instance, method, methodName, undefined, undefined, undefined, undefined, undefined, 'event');
        const call = async (...args: unknown[]) => {
          const r: unknown = await invoke(...args);
          if (isObservable(r)) await lastValueFrom(r, { defaultValue: undefined });
        };
        // a batch handler gets every event, lone ones as a batch of one (InboxConsumer), never the single-event path
        const batchHandler: InboxBatchHandler | undefined = meta.batch ? (items, manager) => call(items, manager) : undefined;
        const handler = (event: EventEnvelope, manager: EntityManager, delivery: DeliveryMeta) => call(event, manager, delivery);
        const consumer = new InboxConsumer(this.nats, this.dataSource, handler, {
          durable: `${this.opts.service}-${meta.name}`,
          stream: this.opts.stream,
          filterSubject: `${this.opts.eventPrefix}.${meta.filter}`,
          eventPrefix: this.opts.eventPrefix,
          schema: this.opts.schema as string,
          maxDeliver: meta.maxDeliver ?? this.opts.consumer?.maxDeliver,
          transactionBatch: meta.transactionBatch,
          batchHandler,
          ackWaitMs: this.opts.consumer?.ackWaitMs,
          afterCommit: this.opts.consumer?.afterCommit,
          handles: meta.types ? new Set(meta.types) : undefined,
          logger: this.logger,
        });
        await consumer.start();
        this.consumers.push(consumer);
        this.logger.log(`consuming ${this.opts.eventPrefix}.${meta.filter} as ${this.opts.service}-${meta.name}`);
      }
    }
    // unresolved dead letters and the stream's size, read from the database and the server (dead-letters.ts)
    this.monitor = new PipelineMonitor(this.dataSource, this.nats, {
      schema: this.opts.schema as string,
      stream: this.opts.stream,
      consumers: () => this.consumers.map((c) => c.durable),
    });
    await this.monitor.start();
  }

  private monitor: PipelineMonitor | null = null;

  async beforeApplicationShutdown(): Promise<void> {
    this.monitor?.stop();
    await Promise.all(this.consumers.map((c) => c.stop()));
  }

  /** Ready unless a consumer is paused (its database or NATS is down); the reason names it. */
  readiness(): { ok: boolean; reason?: string } {
    const paused = this.consumers.map((c) => c.status()).filter((s) => s.state === 'paused');
    if (paused.length === 0) return { ok: true };
    return { ok: false, reason: paused.map((s) => `${s.durable} paused since ${s.since}: ${s.reason}`).join('; ') };
  }
}

@Global()
@Module({})
export class MessagingModule {
  static forRoot(options: MessagingModuleOptions): DynamicModule {
    const providers: Provider[] = [
      { provide: MESSAGING_OPTIONS, useValue: options },
      {
        provide: NATS_HANDLES,
        useFactory: async () => {
          const handles = await connectNats(options.servers, `opsdesk-${options.service}`, options.credentials);
          await ensureEventsStream(handles.jsm, {
            name: options.stream,
            subjectPrefix: options.eventPrefix,
            replicas: options.streamReplicas,
          });
          return handles;
        },
      },
      NatsLifecycle,
      {
        provide: RpcClient,
        useFactory: async () => {
          const client = new RpcClient({
            servers: options.servers,
            subjectPrefix: options.rpcPrefix,
            timeoutMs: options.requestTimeoutMs,
            name: `opsdesk-${options.service}-rpc-client`,
            signContext: options.signRpcContext,
            credentials: options.credentials,
          });
          await client.connect();
          return client;
        },
      },
    ];
    const exported: Array<symbol | (new (...a: never[]) => unknown)> = [MESSAGING_OPTIONS, NATS_HANDLES, RpcClient];
    if (options.schema) {
      // loaded here, not at the top: only a process with a schema pays for TypeORM (see MESSAGING_DATA_SOURCE)
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { DataSource: DataSourceClass } = require('typeorm') as typeof import('typeorm');
      providers.push(
        { provide: MESSAGING_DATA_SOURCE, useExisting: DataSourceClass },
        {
          provide: OutboxWriter,
          useFactory: () => new OutboxWriter({ schema: options.schema as string, source: options.service, subjectPrefix: options.eventPrefix }),
        },
        OutboxRelayService,
        EventConsumersService,
      );
      exported.push(MESSAGING_DATA_SOURCE, OutboxWriter, OutboxRelayService, EventConsumersService);
    }
    return {
      module: MessagingModule,
      imports: options.schema ? [DiscoveryModule] : [],
      providers,
      exports: exported,
    };
  }
}

