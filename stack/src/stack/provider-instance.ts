import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createBus, loggerOptions, runService, type RunningService } from '@lizards/lib';
import { buildProviderApp } from '@lizards/provider';
import type { ProviderConfig } from '@lizards/provider/dist/config.js';
import { appOptionsFromConfig } from '@lizards/provider/dist/config-options.js';
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
    ...appOptionsFromConfig(config, instanceId),
    session: { secret: opts.sessionSecret, ttlSeconds: config.SESSION_TTL_S },
    logger: loggerOptions({ level: config.LOG_LEVEL, service: 'provider' }),
    releaseResources: async () => {
      await bus.close();
      if (opts.ownsStore) await store.close();
    },
  });
  const running = await runService({ app, config, serviceId: 'provider', name: opts.name, handleSignals: false });
  return { name: opts.name, app, running };
}
