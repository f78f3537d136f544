import {
  IngestTokenRequiredError,
  isLoopbackHost,
  loggerOptions,
  RegistryClient,
  runService,
  storeTopologyOptions,
  type MessageBus,
  type RunningService,
  type StartedService,
  type StartServiceOptions,
} from '@lizards/lib';
import { buildIngestionApp, type Dependency, type IngestionSettings } from './app.js';
import { resolveSourceSettings, type IngestionConfig, type IngestionFileConfig } from './config.js';
import type { RawStore } from './raw-store/raw-store.js';
import { RegistryShard } from './scheduler/shard-membership.js';
import { HttpFetcher } from './sources/http-fetcher.js';
import { createSources } from './sources/source-factory.js';
import type { Source } from './sources/source.js';
import { US_EQUITY_SYMBOLS } from './sources/us-equities.js';

export const INGESTION_SERVICE_ID = 'ingestion';
export const INGESTION_GRPC_SERVICE_ID = 'ingestion-grpc';

export interface StartIngestionOptions extends StartServiceOptions<IngestionConfig> {
  fileConfig?: IngestionFileConfig;
  bus: Dependency<MessageBus>;
  rawStore: Dependency<RawStore>;
  /** How long one registry blocking query waits (default 30 s). */
  watchWaitMs?: number;
}

export interface IngestionService extends StartedService {
  shard: RegistryShard;
}

/** The settings the app takes, from the validated environment. */
export function ingestionSettings(config: IngestionConfig): IngestionSettings {
  return {
    store: storeTopologyOptions(config),
    publishBatchSize: config.PUBLISH_BATCH_SIZE,
    outboxRetryMs: config.OUTBOX_RETRY_MS,
    publishTimeoutMs: config.PUBLISH_TIMEOUT_MS,
    fetchTimeoutMs: config.FETCH_TIMEOUT_MS,
    fetchConcurrency: config.FETCH_CONCURRENCY,
    backoffBaseMs: config.BACKOFF_BASE_MS,
    backoffMaxMs: config.BACKOFF_MAX_MS,
    maxFutureSkewMs: config.TICK_MAX_FUTURE_SKEW_MS,
    recoverAfterMs: config.RAW_RECOVER_AFTER_MS,
    grpc: {
      host: config.HOST,
      port: config.GRPC_PORT,
      maxMessageBytes: config.GRPC_MAX_MESSAGE_BYTES,
      token: config.INGEST_TOKEN,
      maxConcurrentCallsPerPeer: config.GRPC_MAX_CONCURRENT_CALLS_PER_PEER,
      rateLimit: { max: config.GRPC_RATE_LIMIT_MAX, windowMs: config.GRPC_RATE_LIMIT_WINDOW_MS },
    },
  };
}

/**
 * Builds the ingestion service from config and adapters, listens, registers as `ingestion` (HTTP) and
 * `ingestion-grpc` (gRPC), and polls this instance's share of the symbols (rendezvous hashing over the
 * live `ingestion` instances in the registry). Without INGEST_TOKEN it starts only on a loopback HOST, where the
 * gRPC endpoint takes calls without a token.
 */
export async function startIngestionService(opts: StartIngestionOptions): Promise<IngestionService> {
  const { config } = opts;
  if (!config.INGEST_TOKEN && !isLoopbackHost(config.HOST)) throw new IngestTokenRequiredError(config.HOST);
  const sourceSettings = resolveSourceSettings(config, opts.fileConfig, US_EQUITY_SYMBOLS);
  const fetcher = new HttpFetcher({ maxBodyBytes: config.FETCH_MAX_BYTES });
  let sources: readonly Source[] = [];
  const watchClient = new RegistryClient({ url: config.REGISTRY_URL, token: config.REGISTRY_TOKEN });
  let running: RunningService | undefined;
  const logger = opts.logger ?? loggerOptions({ level: config.LOG_LEVEL, service: INGESTION_SERVICE_ID });
  let shard: RegistryShard | undefined;
  const app = buildIngestionApp({
    sources: (log) => (sources = createSources(sourceSettings, fetcher, { log })),
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
  // Stopping the shard aborts its blocking query (this hook may run before the app's), so the pool closes at once.
  app.addHook('onClose', async () => {
    shard?.stop();
    await watchClient.close().catch(() => {});
  });
  running = await runService({
    app,
    config,
    serviceId: INGESTION_SERVICE_ID,
    extraRegistrations: () =>
      app.ingestion.grpcPort > 0
        ? [{ serviceId: INGESTION_GRPC_SERVICE_ID, protocol: 'gRPC', port: app.ingestion.grpcPort }]
        : [],
    handleSignals: opts.handleSignals ?? false,
  });
  if (!config.INGEST_TOKEN)
    app.log.warn(
      { host: config.HOST },
      'INGEST_TOKEN is not set: gRPC ProcessData takes calls without a token (loopback only)',
    );
  app.log.info(
    {
      url: running.url,
      adminUrl: running.adminUrl,
      grpcPort: app.ingestion.grpcPort,
      sources: sources.map((s) => ({ id: s.id, url: s.baseUrl, symbols: s.symbols.length })),
    },
    'ingestion ready',
  );
  return { app, running, shard: shard!, shutdown: running.shutdown };
}
