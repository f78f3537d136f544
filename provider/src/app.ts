import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { createMetricsRegistry, loggerOptions, observabilityPlugin, type MessageBus, type ReadinessCheck } from '@lizards/lib';
import { Hub } from './hub/hub.js';
import { createHubMetrics } from './hub/hub-metrics.js';
import { LiveFeed } from './hub/live-feed.js';
import { wsRoutesPlugin } from './hub/ws-routes.js';
import { pricesRoutesPlugin } from './prices/prices-routes.js';
import { sessionRoutesPlugin } from './session/session-routes.js';
import { SessionTokens } from './session/session-token.js';
import type { PriceRepository, TickWriter } from './store/price-repository.js';
import { StoreWorker } from './worker/store-worker.js';
import { createWorkerMetrics } from './worker/worker-metrics.js';

export interface ProviderTopology {
  pricesExchange: string;
  storeQueue: string;
  liveExchange: string;
  /** This instance's exclusive queue on the live exchange. */
  liveQueue: string;
}

export interface ProviderAppOptions {
  repository: PriceRepository;
  /** The worker's writer; without it this instance only serves (no queue consumer). */
  writer?: TickWriter;
  bus: MessageBus;
  topology: ProviderTopology;
  worker: { prefetch: number; batchSize: number; batchWaitMs: number; minBackoffMs?: number; maxBackoffMs?: number };
  session: { secret: string; ttlSeconds: number };
  ws: {
    requireToken: boolean;
    allowedOrigins: string[];
    maxSymbols: number;
    maxMessageBytes: number;
    maxPayload: number;
    maxErrors: number;
    pingIntervalMs: number;
    sendBufferBytes: number;
    slowClientTimeoutMs: number;
    resumeMaxTicks: number;
    staleAfterMs: number;
  };
  livePollIntervalMs: number;
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

function httpStatusText(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 503: 'Service Unavailable' }[status] ??
    (status >= 500 ? 'Internal Server Error' : 'Error')
  );
}

/** The provider: store worker, live feed, WebSocket hub, sessions and REST prices. */
export function buildProviderApp(opts: ProviderAppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions({ level: 'info', service: 'provider' }),
    return503OnClosing: true,
  });
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
  });
  const worker = opts.writer
    ? new StoreWorker({
        bus: opts.bus,
        writer: opts.writer,
        queue: topology.storeQueue,
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
      (err as FastifyError).statusCode = 400;
      done(err as Error, undefined);
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const status = error.validation ? 400 : error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const message = status >= 500 && !error.code?.startsWith('LZ_ERR_') ? 'Internal error' : error.message;
    return reply.code(status).send({ error: httpStatusText(status), message, ...(error.code ? { code: error.code } : {}) });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'Not Found', message: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );

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
  app.register(sessionRoutesPlugin, { tokens: new SessionTokens(opts.session.secret, opts.session.ttlSeconds) });
  app.register(pricesRoutesPlugin, { repository: opts.repository });
  app.register(wsRoutesPlugin, {
    hub,
    tokens: new SessionTokens(opts.session.secret, opts.session.ttlSeconds),
    requireToken: opts.ws.requireToken,
    allowedOrigins: opts.ws.allowedOrigins,
    maxPayload: opts.ws.maxPayload,
  });

  app.addHook('onReady', async () => {
    await opts.bus.declare({
      exchanges: [
        { name: topology.pricesExchange, type: 'topic' },
        { name: topology.liveExchange, type: 'fanout' },
      ],
      queues: [
        {
          name: topology.storeQueue,
          durable: true,
          deadLetter: true,
          bindings: [{ exchange: topology.pricesExchange, pattern: '#' }],
        },
      ],
    });
    await liveFeed.start();
    hub.start();
    await worker?.start();
  });
  app.addHook('onClose', async () => {
    await worker?.stop();
    await liveFeed.stop();
    await opts.releaseResources?.();
  });

  return app;
}
