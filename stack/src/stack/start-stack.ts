import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createBus, loadConfig, loggerOptions } from '@lizards/lib';
import { GatewayConfig, startGateway } from '@lizards/gateway';
import { createRawStore, IngestionConfig, startIngestionService, type IngestionService } from '@lizards/ingestion';
import {
  openPriceStore,
  ProviderConfig,
  startProvider,
  type PriceStore,
  type ProviderService,
} from '@lizards/provider';
import { RegistryConfig, startRegistry } from '@lizards/registry';
import { StackConfig } from '../config/stack-config.js';
import { backingServices, type BackingService } from './backing-services.js';

type Env = Record<string, string | undefined>;

export interface RunningStack {
  config: StackConfig;
  registryUrl: string;
  /** The registry's write token, held by every part: REGISTRY_TOKEN, or made for this run when unset. */
  registryToken: string;
  gatewayUrl: string;
  backing: BackingService[];
  providers: ProviderService[];
  ingestion: IngestionService;
  /** Where ProcessData is served and its token; `generated` = made by this run (INGEST_TOKEN was unset). */
  ingest: { address: string; token: string; generated: boolean };
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
      await step
        .stop()
        .catch((err: unknown) => errors.push(new Error(`${step.name}: ${(err as Error).message}`, { cause: err })));
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
  // Writes to the registry always need a token, even on loopback: the registry takes it from REGISTRY_TOKEN, every part
  // registers with it.
  const registryToken = config.REGISTRY_TOKEN ?? randomBytes(24).toString('base64url');
  // ADMIN_PORT too: every part gets its own admin listener on a free port (the registry's SD lists them).
  const base = {
    HOST: config.HOST,
    LOG_LEVEL: config.LOG_LEVEL,
    ADVERTISE_HOST: undefined,
    ADMIN_PORT: undefined,
    REGISTRY_TOKEN: registryToken,
  };
  const stops = new StopList();
  try {
    const registryConfig = loadConfig(RegistryConfig, { ...env, ...base, PORT: String(config.REGISTRY_PORT) });
    const sessionSecret = config.SESSION_SECRET ?? randomBytes(32).toString('base64url');
    const serviceEnv: Env = { ...env, ...base, PORT: '0' };
    const providerConfig = loadConfig(ProviderConfig, { ...serviceEnv, SESSION_SECRET: sessionSecret });
    const ingestionConfig = loadConfig(IngestionConfig, serviceEnv);
    const gatewayConfig = loadConfig(GatewayConfig, {
      ...serviceEnv,
      PORT: String(config.GATEWAY_PORT),
      GATEWAY_PORT: undefined,
    });
    const ingestToken = ingestionConfig.INGEST_TOKEN ?? randomBytes(24).toString('base64url');
    const logger = (service: string) => loggerOptions({ level: config.LOG_LEVEL, service });

    // PGlite has a single backend: the instances share one store. A real PostgreSQL gets a pool per instance.
    // Starting PGlite (WebAssembly, initdb) is the slowest step: it runs on its own thread while the rest comes up.
    const sharedStore: Promise<PriceStore> | undefined = providerConfig.DATABASE_URL
      ? undefined
      : openPriceStore(providerConfig);
    sharedStore?.then(
      (store) => stops.add('store', 'embedded price store', () => store.close()),
      () => undefined,
    );

    const registry = await startRegistry({ config: registryConfig, logger: logger('registry') });
    stops.add('registry', 'registry', () => registry.shutdown());
    const withRegistry = <T extends object>(c: T): T => ({ ...c, REGISTRY_URL: registry.running.url });

    const startEntry = async () => {
      const gateway = await startGateway({ config: withRegistry(gatewayConfig), logger: logger('gateway') });
      stops.add('gateway', 'gateway', () => gateway.shutdown());
      return gateway;
    };

    const startPipeline = async () => {
      const shared = await sharedStore;
      const providers: ProviderService[] = [];
      for (let i = 1; i <= config.PROVIDER_INSTANCES; i++) {
        const provider = await startProvider({
          config: withRegistry(providerConfig),
          ...(shared ? { sharedStore: shared, maintainsStore: i === 1 } : {}),
          name: `provider-${i}`,
          logger: logger('provider'),
        });
        providers.push(provider);
        stops.add('provider', `provider-${i}`, () => provider.shutdown());
      }
      // After the providers, so that the store queue is bound before the first tick is published.
      const ingestion = await startIngestionService({
        config: withRegistry({ ...ingestionConfig, INGEST_TOKEN: ingestToken }),
        bus: (log) => createBus(ingestionConfig.AMQP_URL, log),
        rawStore: (log) => createRawStore(ingestionConfig, log),
        logger: logger('ingestion'),
        handleSignals: false,
      });
      stops.add('ingestion', 'ingestion', () => ingestion.shutdown());
      return { providers, ingestion };
    };

    // The gateway (and the dashboard) need not wait for the database.
    const [gatewayResult, pipelineResult] = await Promise.allSettled([startEntry(), startPipeline()]);
    if (gatewayResult.status === 'rejected') throw gatewayResult.reason;
    if (pipelineResult.status === 'rejected') throw pipelineResult.reason;
    const gateway = gatewayResult.value;
    const { providers, ingestion } = pipelineResult.value;

    let stopping: Promise<void> | undefined;
    return {
      config,
      registryUrl: registry.running.url,
      registryToken,
      gatewayUrl: gateway.running.url,
      backing,
      providers,
      ingestion,
      ingest: {
        address: `${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${ingestion.app.ingestion.grpcPort}`,
        token: ingestToken,
        generated: !ingestionConfig.INGEST_TOKEN,
      },
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
