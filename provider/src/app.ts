import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import {
  createMetricsRegistry,
  InvalidJsonError,
  serviceFastify,
  observabilityPlugin,
  storeTopology,
  StoreUnavailableError,
  type MessageBus,
  type ReadinessCheck,
  type StoreTopologyOptions,
  useHttpErrors,
  withHeaders,
} from '@lizards/lib';
import { Hub } from './hub/hub.js';
import { createHubMetrics } from './hub/hub-metrics.js';
import { LiveFeed } from './hub/live-feed.js';
import { ProvisionalFeed } from './hub/provisional-feed.js';
import { wsRoutesPlugin } from './hub/ws-routes.js';
import { pricesRoutesPlugin } from './prices/prices-routes.js';
import { sessionRoutesPlugin } from './session/session-routes.js';
import { SessionTokens } from './session/session-token.js';
import type { HistoryMaintenance } from './store/history-maintenance.js';
import type { HistoryRepository, PriceRepository, TickWriter } from './store/price-repository.js';
import { isStoreUnavailable, STORE_RETRY_AFTER_S } from './store/store-availability.js';
import { StoreWorker } from './worker/store-worker.js';
import { createWorkerMetrics } from './worker/worker-metrics.js';

export interface ProviderTopology {
  /** The prices exchange and the store queue, declared exactly as ingestion declares them. */
  store: StoreTopologyOptions;
  liveExchange: string;
  /** This instance's exclusive queue on the live exchange. */
  liveQueue: string;
  /** This instance's exclusive queue on the prices exchange (a copy of every tick, for provisional pushes). */
  provisionalQueue: string;
}

export interface ProviderAppOptions {
  /** The live side: cursor, resume, snapshots, latest prices (the primary). */
  repository: PriceRepository;
  /** Symbols, history and candles (a replica when one is configured). */
  history: HistoryRepository;
  /** Partitions ahead of need and retention, run on an interval while the app is up (one per store). */
  maintenance?: HistoryMaintenance;
  /** The worker's writer; without it this instance only serves (no queue consumer). */
  writer?: TickWriter;
  bus: MessageBus;
  topology: ProviderTopology;
  worker: { prefetch: number; batchSize: number; batchWaitMs: number; minBackoffMs?: number; maxBackoffMs?: number };
  /** `now`: the clock tokens are issued and checked by (tests). */
  session: { secret: string; ttlSeconds: number; now?: () => number };
  ws: {
    requireToken: boolean;
    allowedOrigins: string[];
    maxConnectionsPerSession: number;
    maxSymbols: number;
    maxAlerts: number;
    maxMessageBytes: number;
    maxPayload: number;
    maxErrors: number;
    maxQueuedMessages: number;
    subscribeBurst: number;
    subscribePerSecond: number;
    maxConcurrentReads: number;
    pingIntervalMs: number;
    sendBufferBytes: number;
    slowClientTimeoutMs: number;
    resumeMaxTicks: number;
    staleAfterMs: number;
  };
  livePollIntervalMs: number;
  /** A REST read the store has not answered within this is a 503 with Retry-After (default 5 s). */
  readTimeoutMs?: number;
  /**
   * Ticks not stored within `maxLagMs` of being published are pushed marked provisional (at most `maxTicks`
   * remembered); absent = only stored ticks are pushed.
   */
  provisional?: { maxLagMs: number; maxTicks: number };
  logger?: FastifyServerOptions['logger'];
  metricsRegistry?: Registry;
  /** Releases the adapters (bus, store) once the worker and the live feed have stopped. */
  releaseResources?: () => Promise<void>;
  /** Further /ready checks (e.g. the store's own). */
  readiness?: Record<string, ReadinessCheck>;
}

declare module 'fastify' {
  interface FastifyInstance {
    hub: Hub;
    liveFeed: LiveFeed;
    storeWorker: StoreWorker | undefined;
  }
}

/** The provider: store worker, live feed, WebSocket hub, sessions and REST prices. */
export function buildProviderApp(opts: ProviderAppOptions): FastifyInstance {
  const app = serviceFastify('provider', { logger: opts.logger });
  const registry = opts.metricsRegistry ?? createMetricsRegistry('provider');
  const hubMetrics = createHubMetrics(registry);
  const { topology } = opts;

  const liveFeed = new LiveFeed({
    bus: opts.bus,
    repository: opts.repository,
    liveExchange: topology.liveExchange,
    queue: topology.liveQueue,
    pollIntervalMs: opts.livePollIntervalMs,
    log: app.log.child({ component: 'live-feed' }),
    onTicks: (ticks) => hub.dispatch(ticks),
  });
  const hub = new Hub({
    ...opts.ws,
    repository: opts.repository,
    metrics: hubMetrics,
    log: app.log.child({ component: 'hub' }),
    liveCursor: () => liveFeed.cursor,
    ...(opts.provisional ? { provisional: opts.provisional } : {}),
  });
  const provisionalFeed = opts.provisional
    ? new ProvisionalFeed({
        bus: opts.bus,
        pricesExchange: topology.store.exchange,
        queue: topology.provisionalQueue,
        log: app.log.child({ component: 'provisional-feed' }),
        onTicks: (ticks) => hub.preview(ticks),
      })
    : undefined;
  const worker = opts.writer
    ? new StoreWorker({
        bus: opts.bus,
        writer: opts.writer,
        queue: topology.store.queue,
        liveExchange: topology.liveExchange,
        ...opts.worker,
        log: app.log.child({ component: 'store-worker' }),
        metrics: createWorkerMetrics(registry),
      })
    : undefined;
  app.decorate('hub', hub);
  app.decorate('liveFeed', liveFeed);
  app.decorate('storeWorker', worker);

  // An empty body with a JSON content type (POST /session from some clients) is not an error.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    if (body === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body as string));
    } catch (err) {
      done(new InvalidJsonError((err as Error).message), undefined);
    }
  });

  useHttpErrors(app, {
    // A read the store cannot serve now (PostgreSQL unreachable, a connection reset) is an outage: 503, retry later.
    translate: (error) =>
      !error.statusCode && isStoreUnavailable(error)
        ? withHeaders(new StoreUnavailableError({ cause: error }), { 'retry-after': String(STORE_RETRY_AFTER_S) })
        : undefined,
  });

  app.register(observabilityPlugin, {
    registry,
    readiness: {
      database: async () => {
        await opts.repository.ping();
        return worker && !worker.storeHealthy ? 'writes failing' : true;
      },
      bus: () => (opts.bus.state === 'connected' ? true : opts.bus.state),
      ...opts.readiness,
    },
  });
  const tokens = new SessionTokens(opts.session.secret, opts.session.ttlSeconds, opts.session.now);
  app.register(sessionRoutesPlugin, { tokens });
  app.register(pricesRoutesPlugin, {
    live: opts.repository,
    history: opts.history,
    ...(opts.readTimeoutMs ? { readTimeoutMs: opts.readTimeoutMs } : {}),
  });
  app.register(wsRoutesPlugin, {
    hub,
    tokens,
    requireToken: opts.ws.requireToken,
    allowedOrigins: opts.ws.allowedOrigins,
    maxConnectionsPerSession: opts.ws.maxConnectionsPerSession,
    maxPayload: opts.ws.maxPayload,
  });

  app.addHook('onReady', async () => {
    await opts.bus.declare(storeTopology(topology.store));
    await opts.bus.declare({ exchanges: [{ name: topology.liveExchange, type: 'fanout' }] });
    opts.maintenance?.start(app.log.child({ component: 'history-maintenance' }));
    await liveFeed.start();
    hub.start();
    await provisionalFeed?.start();
    await worker?.start();
  });
  app.addHook('onClose', async () => {
    await worker?.stop();
    await provisionalFeed?.stop();
    await liveFeed.stop();
    await opts.maintenance?.stop();
    await opts.releaseResources?.();
  });

  return app;
}
