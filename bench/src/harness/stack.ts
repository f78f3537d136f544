// The one place that knows how the Lizards services are started for a bench (their environment, their readiness
// path); metrics.ts is the one that knows where they serve /metrics.
import { GatewayConfig } from '@lizards/gateway';
import { request } from 'undici';
import { serverScript } from './paths.js';
import { backends, waitFor, type ProcessGroup, type ServiceProcess } from './services.js';

/** A registry child process whose leases outlive the bench (instances are registered by hand). */
export function startRegistry(group: ProcessGroup, env: Record<string, string> = {}): Promise<ServiceProcess> {
  return group.start({ name: 'registry', script: serverScript('registry'), env: { LEASE_TTL_MS: '600000', ...env } });
}

export interface GatewayOptions {
  registryUrl: string;
  run: string;
  /** 'redis' = shared counters in Redis (the deployed setup); 'local' = per-process counters. */
  rateLimitStore: 'redis' | 'local';
  /** false = every route uncacheable. */
  cache: boolean;
  /** GATEWAY_WORKERS; only where `gatewayWorkersSupported()`. */
  workers?: number;
  extraEnv?: Record<string, string>;
}

/**
 * True once the gateway's configuration declares GATEWAY_WORKERS (several processes serving one gateway port);
 * read from its config schema, so the bench does not claim a scaling figure the gateway cannot give.
 */
export function gatewayWorkersSupported(): boolean {
  return 'GATEWAY_WORKERS' in GatewayConfig.properties;
}

/** A gateway child process with rate limiting on (a limit never reached) and Redis keys unique to the run. */
export async function startGateway(group: ProcessGroup, opts: GatewayOptions): Promise<ServiceProcess> {
  const routes = opts.cache
    ? []
    : ['/symbols', '/prices/*', '/sources', '/sources/status'].map((path) => ({ path, cacheable: false }));
  const env: Record<string, string> = {
    REGISTRY_URL: opts.registryUrl,
    RATE_LIMIT_MAX: '1000000000',
    RATE_LIMIT_PREFIX: `lz:${opts.run}:rl:`,
    CACHE_PREFIX: `lz:${opts.run}:cache:`,
    GATEWAY_ROUTES: JSON.stringify(routes),
    HEARTBEAT_INTERVAL_MS: '60000',
    ...opts.extraEnv,
  };
  if (opts.rateLimitStore === 'redis' || opts.cache) env.REDIS_URL = backends.redisUrl;
  if (opts.workers !== undefined) {
    if (!gatewayWorkersSupported()) throw new Error('this gateway has no GATEWAY_WORKERS');
    env.GATEWAY_WORKERS = String(opts.workers);
  }
  const name = opts.workers === undefined ? 'gateway' : `gateway-${opts.workers}w`;
  return group.start({ name, script: serverScript('gateway'), env, readyPath: '/ready' });
}

/** Bus names unique to a run (exchanges and queues `lz.<run>.*`), as the provider and ingestion take them. */
export function busNames(run: string): { PRICES_EXCHANGE: string; STORE_QUEUE: string; LIVE_EXCHANGE: string } {
  return {
    PRICES_EXCHANGE: `lz.${run}.prices`,
    STORE_QUEUE: `lz.${run}.prices.store`,
    LIVE_EXCHANGE: `lz.${run}.prices.live`,
  };
}

/**
 * A provider child process on the local PostgreSQL (schema `schema`), not registered anywhere; `env` adds or overrides.
 */
export function startProvider(
  group: ProcessGroup,
  schema: string,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return group.start({
    name: 'provider',
    script: serverScript('provider'),
    env: {
      DATABASE_URL: backends.databaseUrl,
      DATABASE_SCHEMA: schema,
      REGISTRY_URL: 'http://127.0.0.1:9',
      HEARTBEAT_INTERVAL_MS: '60000',
      ...env,
    },
    readyPath: '/ready',
  });
}

/** An ingestion child process serving gRPC on `grpcPort`, publishing to the run's exchange; `env` adds or overrides. */
export function startIngestion(
  group: ProcessGroup,
  grpcPort: number,
  env: Record<string, string>,
): Promise<ServiceProcess> {
  return group.start({
    name: 'ingestion',
    script: serverScript('ingestion'),
    env: {
      AMQP_URL: backends.amqpUrl,
      GRPC_PORT: String(grpcPort),
      REGISTRY_URL: 'http://127.0.0.1:9',
      HEARTBEAT_INTERVAL_MS: '60000',
      ...env,
    },
    readyPath: '/ready',
  });
}

/** Waits until `url` answers 200 (e.g. the gateway has learnt its upstream from the registry). */
export async function waitForOk(url: string, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    `200 from ${url}`,
    async () => {
      const res = await request(url).catch(() => undefined);
      if (!res) return false;
      await res.body.dump();
      return res.statusCode === 200;
    },
    timeoutMs,
  );
}
