import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createBus, listSetting, loggerOptions, runService, type RunningService } from '@lizards/lib';
import { buildProviderApp } from '@lizards/provider';
import type { ProviderConfig } from '@lizards/provider/dist/config.js';
import type { PriceStore } from '@lizards/provider/dist/store/price-repository.js';

export interface ProviderInstance {
  name: string;
  app: FastifyInstance;
  running: RunningService;
}

/**
 * One provider instance as provider/src/server.ts makes it, but on a price store it may share with the other
 * instances of this process (the embedded PGlite has one backend) and with a fixed session secret.
 */
export async function startProviderInstance(opts: {
  config: ProviderConfig;
  store: PriceStore;
  /** Close the store with the instance (false when the stack shares it). */
  ownsStore: boolean;
  sessionSecret: string;
  name: string;
}): Promise<ProviderInstance> {
  const { config, store } = opts;
  const instanceId = randomUUID();
  const bus = createBus(config.AMQP_URL);
  const app = buildProviderApp({
    repository: store.repository,
    ...(config.WORKER_ENABLED ? { writer: store.writer } : {}),
    bus,
    topology: {
      pricesExchange: config.PRICES_EXCHANGE,
      storeQueue: config.STORE_QUEUE,
      liveExchange: config.LIVE_EXCHANGE,
      liveQueue: `${config.LIVE_EXCHANGE}.${instanceId}`,
    },
    worker: { prefetch: config.STORE_PREFETCH, batchSize: config.STORE_BATCH_SIZE, batchWaitMs: config.STORE_BATCH_WAIT_MS },
    session: { secret: opts.sessionSecret, ttlSeconds: config.SESSION_TTL_S },
    ws: {
      requireToken: config.WS_AUTH === 'on',
      allowedOrigins: listSetting(config.WS_ALLOWED_ORIGINS),
      maxSymbols: config.WS_MAX_SYMBOLS,
      maxMessageBytes: config.WS_MAX_MESSAGE_BYTES,
      maxPayload: config.WS_MAX_PAYLOAD,
      maxErrors: config.WS_MAX_ERRORS,
      pingIntervalMs: config.WS_PING_INTERVAL_MS,
      sendBufferBytes: config.WS_SEND_BUFFER_BYTES,
      slowClientTimeoutMs: config.WS_SLOW_CLIENT_TIMEOUT_MS,
      resumeMaxTicks: config.WS_RESUME_MAX_TICKS,
      staleAfterMs: config.STALE_AFTER_MS,
    },
    livePollIntervalMs: config.LIVE_POLL_INTERVAL_MS,
    logger: loggerOptions({ level: config.LOG_LEVEL, service: 'provider' }),
    releaseResources: async () => {
      await bus.close();
      if (opts.ownsStore) await store.close();
    },
  });
  const running = await runService({ app, config, serviceId: 'provider', name: opts.name, handleSignals: false });
  return { name: opts.name, app, running };
}
