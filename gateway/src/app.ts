import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyPluginAsync, FastifyServerOptions } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import {
  createMetricsRegistry,
  GatewayNoRouteError,
  listSetting,
  observabilityPlugin,
  serviceFastify,
  useHttpErrors,
} from '@lizards/lib';
import { CacheLayer } from './cache/cache-layer.js';
import { MemoryResponseCache } from './cache/memory-response-cache.js';
import { RedisResponseCache } from './cache/redis-response-cache.js';
import type { ResponseCache } from './cache/response-cache.js';
import type { GatewayConfig } from './config.js';
import { docsPlugin } from './docs/docs-plugin.js';
import { createGatewayMetrics } from './observability/gateway-metrics.js';
import { proxyRoutes } from './proxy/proxy-routes.js';
import { parseTrustProxy } from './proxy/trusted-proxies.js';
import { kUpstreamProtocol } from './proxy/ws-proxy.js';
import { gatewayRateLimit, parseGroupLimits } from './rate-limit/rate-limit-plugin.js';
import { buildRouteTable, defaultRouteTable, servicesOf, type RouteEntry } from './routes/route-table.js';
import { AddressAllowList } from './upstreams/address-allow-list.js';
import { Balancer } from './upstreams/balancer.js';
import { InstanceDirectory, type RegistrySource } from './upstreams/instance-directory.js';
import { UpstreamAdmission } from './upstreams/upstream-admission.js';

export interface GatewayAppDeps {
  config: GatewayConfig;
  /** Where instances come from (a RegistryClient from @lizards/lib). */
  registry: RegistrySource;
  /** Shared Redis for the response cache and rate-limit counters; without it both stay in process. */
  redis?: Redis | undefined;
  /** Overrides the cache made from `redis` / the embedded LRU. */
  cache?: ResponseCache;
  logger?: FastifyServerOptions['logger'];
  metricsRegistry?: Registry;
  /** Extra routes served by the gateway itself, e.g. the dashboard at `/` (registered at the root). */
  site?: FastifyPluginAsync;
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: { directory: InstanceDirectory; balancer: Balancer; routes: RouteEntry[] };
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The gateway: routes public paths to registry-discovered instances, with cache, rate limits and a WebSocket proxy. */
export function buildGatewayApp(deps: GatewayAppDeps): FastifyInstance {
  const { config } = deps;
  const routes = buildRouteTable(defaultRouteTable(config.UPSTREAM_TIMEOUT_MS), config.GATEWAY_ROUTES);
  const services = servicesOf(routes);
  const allowList = AddressAllowList.parse(config.UPSTREAM_ALLOW);
  const app = serviceFastify('gateway', {
    logger: deps.logger,
    level: config.LOG_LEVEL,
    trustProxy: parseTrustProxy(config.TRUST_PROXY),
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 1_048_576,
  });

  const metricsRegistry = deps.metricsRegistry ?? createMetricsRegistry('gateway');
  const directory = new InstanceDirectory({
    registry: deps.registry,
    services,
    watchWaitMs: config.REGISTRY_WATCH_WAIT_MS,
    retryMs: config.REGISTRY_RETRY_MS,
    recoveryGraceMs: config.REGISTRY_RECOVERY_GRACE_MS,
    log: app.log.child({ component: 'instance-directory' }),
  });
  const admission = new UpstreamAdmission(allowList, app.log.child({ component: 'upstream-admission' }));
  const balancer = new Balancer(
    directory,
    admission,
    { connections: config.UPSTREAM_CONNECTIONS, connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS },
    { failureThreshold: config.BREAKER_FAILURE_THRESHOLD, coolOffMs: config.BREAKER_COOL_OFF_MS },
  );
  const metrics = createGatewayMetrics(metricsRegistry, { balancer, directory, admission, services });
  const cache =
    deps.cache ??
    (deps.redis
      ? new RedisResponseCache(deps.redis, config.CACHE_PREFIX)
      : new MemoryResponseCache(config.CACHE_MAX_BYTES));
  const cacheLayer = new CacheLayer({
    cache,
    metrics,
    maxBodyBytes: config.CACHE_MAX_BODY_BYTES,
    log: app.log.child({ component: 'cache' }),
  });
  app.decorate('gateway', { directory, balancer, routes });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  useHttpErrors(app, { noRoute: (method, path) => new GatewayNoRouteError(method, path) });

  // Before the routes: the OpenAPI document is made from the routes registered after it.
  app.register(docsPlugin, { routes });
  app.register(observabilityPlugin, {
    registry: metricsRegistry,
    readiness: {
      // Degraded, not down: a registry or Redis outage must not take every gateway out of a load balancer at once
      // while each can still route (fail-static) and proxy (uncached).
      registry: () => {
        const blind = directory.neverResolved;
        if (blind.length > 0) return `unreachable; no instances known for ${blind.join(', ')}`;
        const stale = directory.failStatic;
        return stale.length === 0
          ? true
          : { degraded: `unreachable; serving last known instances of ${stale.join(', ')}` };
      },
      ...(deps.redis
        ? {
            redis: () =>
              deps.redis!.status === 'ready'
                ? true
                : { degraded: `${deps.redis!.status}; proxying uncached, rate limits per instance` },
          }
        : {}),
    },
  });
  app.register(fastifyWebsocket, {
    options: {
      // The gateway enforces the frame limit itself: a 1009 from the provider can be lost when it resets the
      // connection while the rest of the oversized frame is still being relayed.
      maxPayload: config.WS_MAX_PAYLOAD,
      handleProtocols: (_protocols, request) =>
        (request as unknown as Record<symbol, string | undefined>)[kUpstreamProtocol] || false,
    },
    preClose(this: FastifyInstance, done: () => void) {
      for (const client of this.websocketServer.clients) client.close(1001, 'gateway shutting down');
      done();
    },
  });
  app.register(gatewayRateLimit, {
    defaults: { max: config.RATE_LIMIT_MAX, windowMs: config.RATE_LIMIT_WINDOW_MS },
    groups: parseGroupLimits(config.RATE_LIMIT_GROUPS),
    redis: deps.redis,
    prefix: config.RATE_LIMIT_PREFIX,
    syncMs: config.RATE_LIMIT_SYNC_MS,
    apiKeys: listSetting(config.RATE_LIMIT_API_KEYS),
    metrics,
  });
  app.register(proxyRoutes, {
    routes,
    balancer,
    directory,
    cacheLayer,
    metrics,
    retryAfterMs: Math.max(1000, config.BREAKER_COOL_OFF_MS),
    firstLookupWaitMs: 2000,
  });
  if (deps.site) app.register(deps.site);

  app.addHook('onReady', async () => directory.start());
  app.addHook('onClose', async () => {
    directory.stop();
    await balancer.close();
  });
  return app;
}
