import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createBus, loadConfig, loggerOptions, RegistryClient, runService, type RunningService } from '@lizards/lib';
import { buildGatewayApp } from '@lizards/gateway';
import { GatewayConfig } from '@lizards/gateway/dist/config.js';
import { dashboardPlugin } from '@lizards/gateway/dist/dashboard/dashboard-plugin.js';
import { createRedisConnection } from '@lizards/gateway/dist/redis/redis-connection.js';
import { createRawStore, IngestionConfig, startIngestionService, type IngestionService } from '@lizards/ingestion';
import { ProviderConfig } from '@lizards/provider/dist/config.js';
import { openPostgresPriceStore } from '@lizards/provider/dist/store/postgres-price-store.js';
import type { PriceStore } from '@lizards/provider/dist/store/price-repository.js';
import { buildRegistryApp } from '@lizards/registry';
import { RegistryConfig } from '@lizards/registry/dist/config.js';
import { StackConfig } from '../config/stack-config.js';
import { backingServices, type BackingService } from './backing-services.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';
import { startProviderInstance, type ProviderInstance } from './provider-instance.js';

type Env = Record<string, string | undefined>;

export interface RunningStack {
  config: StackConfig;
  registryUrl: string;
  gatewayUrl: string;
  backing: BackingService[];
  providers: ProviderInstance[];
  ingestion: IngestionService;
  gateway: FastifyInstance;
  /** Stops every part, the gateway first and the registry last, then the shared store. */
  shutdown(): Promise<void>;
}

/**
 * The order parts stop in: the entry point first (clients get their close before anything behind it goes),
 * then the producer, the providers (they deregister while the registry still answers), the store, the registry.
 */
const STOP_ORDER = { gateway: 0, ingestion: 1, provider: 2, store: 3, registry: 4 } as const;

/** Stops what was started so far, in STOP_ORDER; errors are collected, not thrown half-way. */
class StopList {
  private readonly steps: Array<{ name: string; order: number; stop: () => Promise<void> }> = [];

  add(kind: keyof typeof STOP_ORDER, name: string, stop: () => Promise<void>): void {
    this.steps.push({ name, order: STOP_ORDER[kind], stop });
  }

  async stopAll(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const step of this.steps.splice(0).sort((a, b) => a.order - b.order)) {
      await step.stop().catch((err: unknown) => errors.push(new Error(`${step.name}: ${(err as Error).message}`, { cause: err })));
    }
    return errors;
  }
}

/**
 * The whole system in one process: registry, providers, ingestion and gateway, each a real server on its
 * own port that registers with the registry. Backing services are the real ones where a URL is set in
 * `env`, embedded otherwise (one in-process broker and one PGlite shared by every part).
 */
export async function startStack(env: Env = process.env): Promise<RunningStack> {
  const config = loadConfig(StackConfig, env);
  const backing = backingServices(config);
  const base = { HOST: config.HOST, LOG_LEVEL: config.LOG_LEVEL, ADVERTISE_HOST: undefined };
  const stops = new StopList();
  try {
    const registryConfig = loadConfig(RegistryConfig, { ...env, ...base, PORT: String(config.REGISTRY_PORT) });
    const serviceEnv: Env = { ...env, ...base, PORT: '0' };
    const providerConfig = loadConfig(ProviderConfig, serviceEnv);
    const ingestionConfig = loadConfig(IngestionConfig, serviceEnv);
    const gatewayConfig = loadConfig(GatewayConfig, { ...serviceEnv, PORT: String(config.GATEWAY_PORT), GATEWAY_PORT: undefined });
    const sessionSecret = config.SESSION_SECRET ?? randomBytes(32).toString('base64url');

    const openStore = (): Promise<PriceStore> =>
      providerConfig.DATABASE_URL
        ? openPostgresPriceStore({
            url: providerConfig.DATABASE_URL,
            ...(providerConfig.DATABASE_READ_URL ? { readUrl: providerConfig.DATABASE_READ_URL } : {}),
            schema: providerConfig.DATABASE_SCHEMA,
            readPoolSize: providerConfig.DATABASE_POOL_SIZE,
          })
        : startEmbeddedPostgres(providerConfig.PGLITE_DATA_DIR ? { dataDir: providerConfig.PGLITE_DATA_DIR } : {}).then(async (pg) => {
            try {
              return await openPostgresPriceStore({ url: pg.url, schema: providerConfig.DATABASE_SCHEMA, kind: 'pglite', singleConnection: true, onClose: pg.stop });
            } catch (err) {
              await pg.stop();
              throw err;
            }
          });
    // PGlite has a single backend: the instances share one store. A real PostgreSQL gets a pool per instance.
    // Starting PGlite (WebAssembly, initdb) is the slowest step: it runs on its own thread while the rest comes up.
    const sharedStore = providerConfig.DATABASE_URL ? undefined : openStore();
    sharedStore?.then((store) => stops.add('store', 'embedded price store', () => store.close()), () => undefined);

    const registryApp = buildRegistryApp({
      leaseTtlMs: registryConfig.LEASE_TTL_MS,
      evictionIntervalMs: registryConfig.EVICTION_INTERVAL_MS,
      token: registryConfig.REGISTRY_TOKEN,
      bodyLimit: registryConfig.REGISTRY_BODY_LIMIT,
      logger: loggerOptions({ level: config.LOG_LEVEL, service: 'registry' }),
    });
    const registry = await runService({ app: registryApp, config: registryConfig, handleSignals: false });
    stops.add('registry', 'registry', () => registry.shutdown());
    const withRegistry = <T extends object>(c: T): T => ({ ...c, REGISTRY_URL: registry.url });

    const startGateway = async () => {
      const registryClient = new RegistryClient({ url: registry.url, token: gatewayConfig.REGISTRY_TOKEN });
      let app: FastifyInstance | undefined;
      const redis = gatewayConfig.REDIS_URL ? createRedisConnection(gatewayConfig.REDIS_URL, () => app!.log) : undefined;
      app = buildGatewayApp({
        config: withRegistry(gatewayConfig),
        registry: registryClient,
        redis,
        logger: loggerOptions({ level: config.LOG_LEVEL, service: 'gateway' }),
        site: dashboardPlugin,
      });
      app.addHook('onClose', async () => {
        redis?.disconnect();
        void registryClient.close().catch(() => undefined);
      });
      const running = await runService({ app, config: withRegistry(gatewayConfig), serviceId: 'gateway', handleSignals: false });
      stops.add('gateway', 'gateway', () => running.shutdown());
      return { app, running };
    };

    const startProviders = async () => {
      const shared = await sharedStore;
      const providers: ProviderInstance[] = [];
      for (let i = 1; i <= config.PROVIDER_INSTANCES; i++) {
        const store = shared ?? (await openStore());
        const provider = await startProviderInstance({
          config: withRegistry(providerConfig),
          store,
          ownsStore: !shared,
          sessionSecret,
          name: `provider-${i}`,
        }).catch(async (err: unknown) => {
          if (!shared) await store.close();
          throw err;
        });
        providers.push(provider);
        stops.add('provider', provider.name, () => provider.running.shutdown());
      }
      // After the providers, so that the store queue is bound before the first tick is published.
      const ingestion = await startIngestionService({
        config: withRegistry(ingestionConfig),
        bus: (log) => createBus(ingestionConfig.AMQP_URL, log),
        rawStore: (log) => createRawStore(ingestionConfig, log),
        logger: loggerOptions({ level: config.LOG_LEVEL, service: 'ingestion' }),
        handleSignals: false,
      });
      stops.add('ingestion', 'ingestion', () => ingestion.shutdown());
      return { providers, ingestion };
    };

    // The gateway (and the dashboard) need not wait for the database.
    const [gatewayResult, pipelineResult] = await Promise.allSettled([startGateway(), startProviders()]);
    if (gatewayResult.status === 'rejected') throw gatewayResult.reason;
    if (pipelineResult.status === 'rejected') throw pipelineResult.reason;
    const gateway = gatewayResult.value;
    const { providers, ingestion } = pipelineResult.value;

    let stopping: Promise<void> | undefined;
    return {
      config,
      registryUrl: registry.url,
      gatewayUrl: gateway.running.url,
      backing,
      providers,
      ingestion,
      gateway: gateway.app,
      shutdown: () =>
        (stopping ??= stops.stopAll().then((errors) => {
          if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
        })),
    };
  } catch (err) {
    await stops.stopAll();
    throw err;
  }
}
