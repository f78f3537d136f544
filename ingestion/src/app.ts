import type { FastifyBaseLogger, FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import {
  createMetricsRegistry,
  serviceFastify,
  observabilityPlugin,
  useHttpErrors,
  type MessageBus,
  type StoreTopologyOptions,
} from '@lizards/lib';
import { DataProcessorServer } from './grpc/data-processor-server.js';
import { createIngestionMetrics, type IngestionMetrics } from './ingestion-metrics.js';
import { OutboxPublisher } from './outbox/outbox-publisher.js';
import { IngestPipeline } from './pipeline/ingest-pipeline.js';
import { documentParser } from './pipeline/document-parser.js';
import type { RawStore } from './raw-store/raw-store.js';
import { sourcesRoutes } from './routes/sources-routes.js';
import { Scheduler } from './scheduler/scheduler.js';
import { ownEverything, type ShardFilter } from './scheduler/shard-membership.js';
import type { Source } from './sources/source.js';

export interface IngestionSettings {
  /** Where ticks are published: declared here exactly as the provider declares it. */
  store: StoreTopologyOptions;
  publishBatchSize: number;
  outboxRetryMs: number;
  publishTimeoutMs: number;
  fetchTimeoutMs: number;
  fetchConcurrency: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  maxFutureSkewMs: number;
  /**
   * At start, raw documents older than this that were never processed are processed (younger ones may be in flight
   * elsewhere).
   */
  recoverAfterMs: number;
  /** The gRPC DataProcessor endpoint; false to run without it. */
  grpc:
    | {
        host: string;
        port: number;
        maxMessageBytes: number;
        /** Bearer token every call must carry; undefined = none (loopback-only listeners). */
        token: string | undefined;
        maxConcurrentCallsPerPeer: number;
        rateLimit: { max: number; windowMs: number };
      }
    | false;
}

/** A dependency, or how to make it with the app's logger. */
export type Dependency<T> = T | ((log: FastifyBaseLogger) => T);

const make = <T extends object>(dep: Dependency<T>, log: FastifyBaseLogger): T =>
  typeof dep === 'function' ? (dep as (log: FastifyBaseLogger) => T)(log) : dep;

type ManagedShard = ShardFilter & { start?(): void; stop?(): void };

export interface IngestionAppOptions {
  /** Closed with the app (after the last poll). */
  sources: Dependency<readonly Source[]>;
  bus: Dependency<MessageBus>;
  rawStore: Dependency<RawStore>;
  settings: IngestionSettings;
  /** Makes the filter of the symbols this instance polls (default: all of them); started and stopped with the app. */
  shard?: (log: FastifyBaseLogger) => ManagedShard;
  /** Start polling when the app is ready (default true). */
  poll?: boolean;
  logger?: FastifyServerOptions['logger'];
  metricsRegistry?: Registry;
}

/** What the app holds, for server.ts and tests. */
export interface IngestionHandle {
  scheduler: Scheduler;
  publisher: OutboxPublisher;
  pipeline: IngestPipeline;
  rawStore: RawStore;
  metrics: IngestionMetrics;
  /** The bound gRPC port (after ready), 0 without gRPC. */
  readonly grpcPort: number;
}

declare module 'fastify' {
  interface FastifyInstance {
    ingestion: IngestionHandle;
  }
}

/**
 * The ingestion service from its dependencies: sources, scheduler, raw store (the outbox), publisher, gRPC
 * DataProcessor and the HTTP routes. Nothing is started before `ready()`; `close()` stops everything and
 * closes the sources, the bus and the raw store it was given.
 */
export function buildIngestionApp(opts: IngestionAppOptions): FastifyInstance {
  const app = serviceFastify('ingestion', { logger: opts.logger });
  const { settings } = opts;
  const bus = make(opts.bus, app.log.child({ component: 'bus' }));
  const rawStore = make(opts.rawStore, app.log.child({ component: 'raw-store' }));
  const sources = make(opts.sources, app.log.child({ component: 'sources' }));
  const registry = opts.metricsRegistry ?? createMetricsRegistry('ingestion');
  const metrics = createIngestionMetrics(registry, {
    outboxDepth: () => rawStore.outboxDepth(),
    rawStoreFull: () => rawStore.full,
  });
  const log = app.log.child({ component: 'ingestion' });
  const publisher = new OutboxPublisher({
    bus,
    store: rawStore,
    topology: settings.store,
    batchSize: settings.publishBatchSize,
    retryMs: settings.outboxRetryMs,
    publishTimeoutMs: settings.publishTimeoutMs,
    metrics,
    log,
  });
  const pipeline = new IngestPipeline({
    store: rawStore,
    publisher,
    metrics,
    log,
    maxFutureSkewMs: settings.maxFutureSkewMs,
  });
  const shard: ManagedShard = opts.shard?.(log) ?? ownEverything;
  const scheduler = new Scheduler({
    sources,
    pipeline,
    shard,
    concurrency: settings.fetchConcurrency,
    timeoutMs: settings.fetchTimeoutMs,
    backoffBaseMs: settings.backoffBaseMs,
    backoffMaxMs: settings.backoffMaxMs,
    metrics,
    log,
  });
  const grpcServer = settings.grpc
    ? new DataProcessorServer({ pipeline, ...settings.grpc, retryAfterMs: settings.outboxRetryMs, log })
    : undefined;

  app.decorate('ingestion', {
    scheduler,
    publisher,
    pipeline,
    rawStore,
    metrics,
    get grpcPort() {
      return grpcServer?.port ?? 0;
    },
  });

  app.register(observabilityPlugin, {
    registry,
    readiness: {
      bus: () => (bus.state === 'connected' ? true : bus.state),
      raw_store: async () => {
        if (!(await rawStore.ping())) return false;
        return rawStore.full ? 'full: new input is refused until the broker takes the outbox' : true;
      },
    },
  });
  app.register(sourcesRoutes, { sources, scheduler });

  useHttpErrors(app);

  app.addHook('onReady', async () => {
    await rawStore.start();
    // Before the publisher starts, so that its first drain includes what this recovers.
    await pipeline.recover(documentParser(sources), new Date(Date.now() - settings.recoverAfterMs));
    await publisher.start();
    await grpcServer?.start();
    shard.start?.();
    if (opts.poll ?? true) scheduler.start();
  });
  app.addHook('onClose', async () => {
    shard.stop?.();
    await scheduler.stop();
    await Promise.all(sources.map((s) => s.close?.()));
    await grpcServer?.stop();
    await publisher.stop();
    await bus.close();
    await rawStore.close();
  });
  return app;
}
