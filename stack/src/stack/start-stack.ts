import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createBus, loadConfig, loggerOptions, RegistryClient, runService, type RunningService } from '@lizards/lib';
import { buildGatewayApp } from '@lizards/gateway';
import { GatewayConfig } from '@lizards/gateway/dist/config.js';
import { dashboardPlugin } from '@lizards/gateway/dist/dashboard/dashboard-plugin.js';
import { createRedisConnection } from '@lizards/gateway/dist/redis/redis-connection.js';
import { createRawStore, IngestionConfig, startIngestionService, type IngestionService } from '@lizards/ingestion';
import { ProviderConfig } from '@lizards/provider/dist/config.js';
import { openEmbeddedPriceStore } from '@lizards/provider/dist/store/embedded-price-store.js';
import { openPostgresPriceStore } from '@lizards/provider/dist/store/postgres-price-store.js';
import type { PriceStore } from '@lizards/provider/dist/store/price-repository.js';
import { buildRegistryApp } from '@lizards/registry';
import { RegistryConfig } from '@lizards/registry/dist/config.js';
import { StackConfig } from '../config/stack-config.js';
import { backingServices, type BackingService } from './backing-services.js';
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

/** Stops what was started so far, newest first; errors are collected, not thrown half-way. */
class StopList {
  private readonly steps: Array<{ name: string; stop: () => Promise<void> }> = [];

  add(name: string, stop: () => Promise<void>): void {
    this.steps.push({ name, stop });
  }

  async stopAll(): Promise<Error[]> {
    const errors: Error[] = [];
    for (const step of this.steps.splice(0).reverse()) {
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
    const registryApp = buildRegistryApp({
      leaseTtlMs: registryConfig.LEASE_TTL_MS,
      evictionIntervalMs: registryConfig.EVICTION_INTERVAL_MS,
      token: registryConfig.REGISTRY_TOKEN,
      bodyLimit: registryConfig.REGISTRY_BODY_LIMIT,
      logger: loggerOptions({ level: config.LOG_LEVEL, service: 'registry' }),
    });
    const registry = await runService({ app: registryApp, config: registryConfig, handleSignals: false });
    stops.add('registry', () => registry.shutdown());

    const serviceEnv: Env = { ...env, ...base, PORT: '0', REGISTRY_URL: registry.url };

    const providerConfig = loadConfig(ProviderConfig, serviceEnv);
    const sessionSecret = config.SESSION_SECRET ?? randomBytes(32).toString('base64url');
    const openStore = (): Promise<PriceStore> =>
      providerConfig.DATABASE_URL
        ? openPostgresPriceStore({
            url: providerConfig.DATABASE_URL,
            ...(providerConfig.DATABASE_READ_URL ? { readUrl: providerConfig.DATABASE_READ_URL } : {}),
            schema: providerConfig.DATABASE_SCHEMA,
            readPoolSize: providerConfig.DATABASE_POOL_SIZE,
          })
        : openEmbeddedPriceStore({
            schema: providerConfig.DATABASE_SCHEMA,
            ...(providerConfig.PGLITE_DATA_DIR ? { dataDir: providerConfig.PGLITE_DATA_DIR } : {}),
          });
    // PGlite has a single backend: the instances share one store. A real PostgreSQL gets a pool per instance.
    const shared = providerConfig.DATABASE_URL ? undefined : await openStore();
    if (shared) stops.add('embedded price store', () => shared.close());

    const providers: ProviderInstance[] = [];
    for (let i = 1; i <= config.PROVIDER_INSTANCES; i++) {
      const store = shared ?? (await openStore());
      const provider = await startProviderInstance({
        config: providerConfig,
        store,
        ownsStore: !shared,
        sessionSecret,
        name: `provider-${i}`,
      }).catch(async (err: unknown) => {
        if (!shared) await store.close();
        throw err;
      });
      providers.push(provider);
      stops.add(provider.name, () => provider.running.shutdown());
    }

    const ingestionConfig = loadConfig(IngestionConfig, serviceEnv);
    const ingestion = await startIngestionService({
      config: ingestionConfig,
      bus: (log) => createBus(ingestionConfig.AMQP_URL, log),
      rawStore: (log) => createRawStore(ingestionConfig, log),
      logger: loggerOptions({ level: config.LOG_LEVEL, service: 'ingestion' }),
      handleSignals: false,
    });
    stops.add('ingestion', () => ingestion.shutdown());

    const gatewayConfig = loadConfig(GatewayConfig, { ...serviceEnv, PORT: String(config.GATEWAY_PORT), GATEWAY_PORT: undefined });
    const registryClient = new RegistryClient({ url: registry.url, token: gatewayConfig.REGISTRY_TOKEN });
    let gateway: FastifyInstance | undefined;
    const redis = gatewayConfig.REDIS_URL ? createRedisConnection(gatewayConfig.REDIS_URL, () => gateway!.log) : undefined;
    gateway = buildGatewayApp({
      config: gatewayConfig,
      registry: registryClient,
      redis,
      logger: loggerOptions({ level: config.LOG_LEVEL, service: 'gateway' }),
      site: dashboardPlugin,
    });
    gateway.addHook('onClose', async () => {
      redis?.disconnect();
      void registryClient.close().catch(() => undefined);
    });
    const gatewayRunning: RunningService = await runService({ app: gateway, config: gatewayConfig, serviceId: 'gateway', handleSignals: false });
    stops.add('gateway', () => gatewayRunning.shutdown());

    let stopping: Promise<void> | undefined;
    return {
      config,
      registryUrl: registry.url,
      gatewayUrl: gatewayRunning.url,
      backing,
      providers,
      ingestion,
      gateway,
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
