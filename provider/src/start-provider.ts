import { randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import {
  createBus,
  loggerOptions,
  runService,
  type MessageBus,
  type StartedService,
  type StartServiceOptions,
} from '@lizards/lib';
import { buildProviderApp } from './app.js';
import type { ProviderConfig } from './config.js';
import { appOptionsFromConfig } from './config-options.js';
import { openPriceStore } from './store/open-price-store.js';
import type { PriceStore } from './store/price-repository.js';

export const PROVIDER_SERVICE_ID = 'provider';

export interface StartProviderOptions extends StartServiceOptions<ProviderConfig> {
  /**
   * A store this instance shares with others of the same process (the embedded PGlite has a single backend): its
   * owner closes it. Unset = the instance opens its own from the config and closes it with itself.
   */
  sharedStore?: PriceStore;
  /** Run the store's history maintenance (default true; one instance per store). */
  maintainsStore?: boolean;
  /** The bus; from AMQP_URL (in-process when unset) by default. Closed with the instance. */
  bus?: MessageBus;
  /** Registry instance name (default `provider-<pid>`). */
  name?: string;
}

export interface ProviderService extends StartedService {
  store: PriceStore;
}

/**
 * Builds the provider from config and adapters, listens, and registers as `provider`: the one start of server.ts
 * and of the all-in-one stack. Without SESSION_SECRET its session tokens are valid on this instance only.
 */
export async function startProvider(opts: StartProviderOptions): Promise<ProviderService> {
  const { config } = opts;
  const instanceId = randomUUID();
  const store = opts.sharedStore ?? (await openPriceStore(config));
  const bus = opts.bus ?? createBus(config.AMQP_URL);
  let app: FastifyInstance;
  try {
    app = buildProviderApp({
      repository: store.repository,
      history: store.history,
      ...((opts.maintainsStore ?? true) ? { maintenance: store.maintenance } : {}),
      ...(config.WORKER_ENABLED ? { writer: store.writer } : {}),
      bus,
      ...appOptionsFromConfig(config, instanceId),
      session: {
        secret: config.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
        ttlSeconds: config.SESSION_TTL_S,
      },
      logger: opts.logger ?? loggerOptions({ level: config.LOG_LEVEL, service: PROVIDER_SERVICE_ID }),
      ...(config.DATABASE_READ_URL ? { readiness: { replica: async () => (await store.history.ping(), true) } } : {}),
      releaseResources: async () => {
        await bus.close();
        if (!opts.sharedStore) await store.close();
      },
    });
  } catch (err) {
    await bus.close();
    if (!opts.sharedStore) await store.close();
    throw err;
  }
  if (!config.SESSION_SECRET) app.log.warn('SESSION_SECRET is not set: session tokens are only valid on this instance');
  const running = await runService({
    app,
    config,
    serviceId: PROVIDER_SERVICE_ID,
    ...(opts.name ? { name: opts.name } : {}),
    handleSignals: opts.handleSignals ?? false,
  });
  app.log.info(
    { url: running.url, adminUrl: running.adminUrl, store: store.kind, bus: bus.kind, instanceId },
    'provider ready',
  );
  return { app, running, store, shutdown: running.shutdown };
}
