import { randomBytes, randomUUID } from 'node:crypto';
import { createBus, loadConfigOrExit, loggerOptions, runService } from '@lizards/lib';
import { buildProviderApp } from './app.js';
import { ProviderConfig } from './config.js';
import { appOptionsFromConfig } from './config-options.js';
import { openEmbeddedPriceStore } from './store/embedded-price-store.js';
import { openPostgresPriceStore } from './store/postgres-price-store.js';

const config = loadConfigOrExit(ProviderConfig);
const logger = loggerOptions({ level: config.LOG_LEVEL, service: 'provider' });
const instanceId = randomUUID();

const store = config.DATABASE_URL
  ? await openPostgresPriceStore({
      url: config.DATABASE_URL,
      ...(config.DATABASE_READ_URL ? { readUrl: config.DATABASE_READ_URL } : {}),
      schema: config.DATABASE_SCHEMA,
      readPoolSize: config.DATABASE_POOL_SIZE,
    })
  : await openEmbeddedPriceStore({ schema: config.DATABASE_SCHEMA, ...(config.PGLITE_DATA_DIR ? { dataDir: config.PGLITE_DATA_DIR } : {}) });
const bus = createBus(config.AMQP_URL);

const app = buildProviderApp({
  repository: store.repository,
  ...(config.WORKER_ENABLED ? { writer: store.writer } : {}),
  bus,
  ...appOptionsFromConfig(config, instanceId),
  session: {
    // Without a shared secret only this instance can verify its tokens: fine alone, not behind a gateway with several.
    secret: config.SESSION_SECRET ?? randomBytes(32).toString('base64url'),
    ttlSeconds: config.SESSION_TTL_S,
  },
  logger,
  releaseResources: async () => {
    await bus.close();
    await store.close();
  },
});
if (!config.SESSION_SECRET) app.log.warn('SESSION_SECRET is not set: session tokens are only valid on this instance');

const { url } = await runService({ app, config, serviceId: 'provider' });
app.log.info({ url, store: store.kind, bus: bus.kind, instanceId }, 'provider ready');
