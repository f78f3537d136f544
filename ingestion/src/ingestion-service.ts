import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { loggerOptions, RegistryClient, runService, type MessageBus, type RunningService } from '@lizards/lib';
import { buildIngestionApp, type Dependency, type IngestionSettings } from './app.js';
import { resolveSourceSettings, type IngestionConfig, type IngestionFileConfig } from './config.js';
import type { RawStore } from './raw-store/raw-store.js';
import { RegistryShard } from './scheduler/shard-membership.js';
import { HttpFetcher } from './sources/http-fetcher.js';
import { createSources } from './sources/source-factory.js';
import { US_EQUITY_SYMBOLS } from './sources/us-equities.js';

export const INGESTION_SERVICE_ID = 'ingestion';
export const INGESTION_GRPC_SERVICE_ID = 'ingestion-grpc';

export interface StartIngestionOptions {
  config: IngestionConfig;
  fileConfig?: IngestionFileConfig;
  bus: Dependency<MessageBus>;
  rawStore: Dependency<RawStore>;
  logger?: FastifyServerOptions['logger'];
  /** Handle SIGTERM/SIGINT (true for the real process). */
  handleSignals?: boolean;
  /** How long one registry blocking query waits (default 30 s). */
  watchWaitMs?: number;
}

export interface IngestionService {
  app: FastifyInstance;
  running: RunningService;
  shard: RegistryShard;
  shutdown(reason?: string): Promise<void>;
}

/** The settings the app takes, from the validated environment. */
export function ingestionSettings(config: IngestionConfig): IngestionSettings {
  return {
    exchange: config.PRICES_EXCHANGE,
    publishBatchSize: config.PUBLISH_BATCH_SIZE,
    outboxRetryMs: config.OUTBOX_RETRY_MS,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    fetchConcurrency: config.FETCH_CONCURRENCY,
    backoffBaseMs: config.BACKOFF_BASE_MS,
    backoffMaxMs: config.BACKOFF_MAX_MS,
    maxFutureSkewMs: config.TICK_MAX_FUTURE_SKEW_MS,
    recoverAfterMs: config.RAW_RECOVER_AFTER_MS,
    grpc: { host: config.HOST, port: config.GRPC_PORT, maxMessageBytes: config.GRPC_MAX_MESSAGE_BYTES },
  };
}

/**
 * Builds the ingestion service from config and adapters, listens, registers as `ingestion` (HTTP) and
 * `ingestion-grpc` (gRPC), and polls this instance's share of the symbols (rendezvous hashing over the
 * live `ingestion` instances in the registry).
 */
export async function startIngestionService(opts: StartIngestionOptions): Promise<IngestionService> {
  const { config } = opts;
  const sourceSettings = resolveSourceSettings(config, opts.fileConfig, US_EQUITY_SYMBOLS);
  const fetcher = new HttpFetcher({ maxBodyBytes: config.FETCH_MAX_BYTES });
  const sources = createSources(sourceSettings, fetcher);
  const watchClient = new RegistryClient({ url: config.REGISTRY_URL, token: config.REGISTRY_TOKEN });
  let running: RunningService | undefined;
  const logger = opts.logger ?? loggerOptions({ level: config.LOG_LEVEL, service: INGESTION_SERVICE_ID });
  let shard: RegistryShard | undefined;
  const app = buildIngestionApp({
    sources,
    bus: opts.bus,
    rawStore: opts.rawStore,
    settings: ingestionSettings(config),
    logger,
    shard: (log) =>
      (shard = new RegistryShard({
        client: watchClient,
        serviceId: INGESTION_SERVICE_ID,
        selfId: () => running?.registrar?.instanceIds[INGESTION_SERVICE_ID],
        ...(opts.watchWaitMs ? { watchWaitMs: opts.watchWaitMs } : {}),
        log,
      })),
  });
  // A blocking query may still be waiting: it is not awaited, and the pool closes once it ends.
  app.addHook('onClose', async () => void watchClient.close().catch(() => {}));
  running = await runService({
    app,
    config,
    serviceId: INGESTION_SERVICE_ID,
    extraRegistrations: () =>
      app.ingestion.grpcPort > 0 ? [{ serviceId: INGESTION_GRPC_SERVICE_ID, protocol: 'gRPC', port: app.ingestion.grpcPort }] : [],
    handleSignals: opts.handleSignals ?? false,
  });
  app.log.info(
    { url: running.url, grpcPort: app.ingestion.grpcPort, sources: sources.map((s) => ({ id: s.id, url: s.baseUrl, symbols: s.symbols.length })) },
    'ingestion ready',
  );
  return { app, running, shard: shard!, shutdown: running.shutdown };
}
