import type { FastifyInstance } from 'fastify';
import { loggerOptions, RegistryClient, runService, type StartedService, type StartServiceOptions } from '@lizards/lib';
import { buildGatewayApp } from './app.js';
import type { ClusterWorker } from './cluster/cluster-worker.js';
import type { GatewayConfig } from './config.js';
import { dashboardPlugin } from './dashboard/dashboard-plugin.js';
import { createRedisConnection } from './redis/redis-connection.js';

export const GATEWAY_SERVICE_ID = 'gateway';

export interface StartGatewayOptions extends StartServiceOptions<GatewayConfig> {
  /** This process is a worker of a GATEWAY_WORKERS cluster: its primary registers and serves /metrics of all. */
  worker?: ClusterWorker;
}

/**
 * Builds the gateway (with the dashboard) from its config, its registry client and Redis (when REDIS_URL is set),
 * listens on GATEWAY_PORT (else PORT) and registers as `gateway`: the one start of server.ts and of the
 * all-in-one stack. Throws on an invalid route table or rate-limit groups.
 */
export async function startGateway(opts: StartGatewayOptions): Promise<StartedService> {
  const config = { ...opts.config, PORT: opts.config.GATEWAY_PORT ?? opts.config.PORT };
  const registry = new RegistryClient({ url: config.REGISTRY_URL, token: config.REGISTRY_TOKEN });
  let app: FastifyInstance | undefined;
  const redis = config.REDIS_URL ? createRedisConnection(config.REDIS_URL, () => app!.log) : undefined;
  try {
    app = buildGatewayApp({
      config,
      registry,
      redis,
      logger: opts.logger ?? loggerOptions({ level: config.LOG_LEVEL, service: GATEWAY_SERVICE_ID }),
      site: dashboardPlugin,
      metricsRegistry: opts.worker?.metricsRegistry,
    });
  } catch (err) {
    redis?.disconnect();
    await registry.close().catch(() => undefined);
    throw err;
  }
  const gateway = app;
  gateway.addHook('onClose', async () => {
    redis?.disconnect();
    // Stopping the directory aborts its blocking queries, so the registry pool closes at once.
    gateway.gateway.directory.stop();
    await registry.close().catch(() => undefined);
  });
  // A cluster worker leaves the registration to its primary.
  const running = await runService({
    app: gateway,
    config,
    serviceId: opts.worker ? undefined : GATEWAY_SERVICE_ID,
    handleSignals: opts.handleSignals ?? false,
  });
  opts.worker?.listening(running.port, running.adminPort);
  gateway.log.info(
    {
      url: running.url,
      adminUrl: running.adminUrl,
      redis: Boolean(redis),
      routes: gateway.gateway.routes.map((r) => r.path),
    },
    'gateway ready',
  );
  return { app: gateway, running, shutdown: running.shutdown };
}
