import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync, type FastifyServerOptions } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import fastifyWebsocket from '@fastify/websocket';
import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import { createMetricsRegistry, loggerOptions, observabilityPlugin } from '@lizards/lib';
import { CacheLayer } from './cache/cache-layer.js';
import { MemoryResponseCache } from './cache/memory-response-cache.js';
import { RedisResponseCache } from './cache/redis-response-cache.js';
import type { ResponseCache } from './cache/response-cache.js';
import type { GatewayConfig } from './config.js';
import { createGatewayMetrics } from './observability/gateway-metrics.js';
import { proxyRoutes } from './proxy/proxy-routes.js';
import { kUpstreamProtocol } from './proxy/ws-proxy.js';
import { gatewayRateLimit, parseGroupLimits } from './rate-limit/rate-limit-plugin.js';
import { buildRouteTable, defaultRouteTable, servicesOf, type RouteEntry } from './routes/route-table.js';
import { Balancer } from './upstreams/balancer.js';
import { InstanceDirectory, type RegistrySource } from './upstreams/instance-directory.js';

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

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type',
  426: 'Upgrade Required', 429: 'Too Many Requests', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout',
};

/** The gateway: routes public paths to registry-discovered instances, with cache, rate limits and a WebSocket proxy. */
export function buildGatewayApp(deps: GatewayAppDeps): FastifyInstance {
  const { config } = deps;
  const routes = buildRouteTable(defaultRouteTable(config.UPSTREAM_TIMEOUT_MS), config.GATEWAY_ROUTES);
  const services = servicesOf(routes);
  const app = Fastify({
    logger: deps.logger ?? loggerOptions({ level: config.LOG_LEVEL, service: 'gateway' }),
    trustProxy: config.TRUST_PROXY,
    genReqId: (req: IncomingMessage) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    bodyLimit: 1_048_576,
    return503OnClosing: true,
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
  const balancer = new Balancer(
    directory,
    { connections: config.UPSTREAM_CONNECTIONS, connectTimeoutMs: config.UPSTREAM_CONNECT_TIMEOUT_MS },
    { failureThreshold: config.BREAKER_FAILURE_THRESHOLD, coolOffMs: config.BREAKER_COOL_OFF_MS },
  );
  const metrics = createGatewayMetrics(metricsRegistry, { balancer, directory, services });
  const cache = deps.cache ?? (deps.redis ? new RedisResponseCache(deps.redis, config.CACHE_PREFIX) : new MemoryResponseCache(config.CACHE_MAX_ENTRIES));
  const cacheLayer = new CacheLayer({ cache, metrics, maxBodyBytes: config.CACHE_MAX_BODY_BYTES, log: app.log.child({ component: 'cache' }) });
  app.decorate('gateway', { directory, balancer, routes });

  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });

  app.setErrorHandler((error: FastifyError & { retryAfterS?: number }, request, reply) => {
    const status = error.validation ? 400 : error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (error.retryAfterS !== undefined) reply.header('retry-after', error.retryAfterS);
    if (status >= 500) request.log.warn({ err: error }, 'request failed');
    return reply.code(status).send({ error: STATUS_TEXT[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error'), message: error.message, code: error.code });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'Not Found', message: `No route ${request.method} ${request.url.split('?')[0]}`, code: 'LZ_ERR_GATEWAY_NO_ROUTE' }),
  );

  app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Lizards gateway', version: '0.1.0', description: 'Public REST and WebSocket routes of the Lizards stock price tracker' },
    },
  });
  app.register(async (docs) => {
    docs.get('/docs/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
  app.register(observabilityPlugin, {
    registry: metricsRegistry,
    readiness: {
      // Degraded, not down: a registry or Redis outage must not take every gateway out of a load balancer at once
      // while each can still route (fail-static) and proxy (uncached).
      registry: () => {
        const blind = directory.neverResolved;
        if (blind.length > 0) return `unreachable; no instances known for ${blind.join(', ')}`;
        const stale = directory.failStatic;
        return stale.length === 0 ? true : { degraded: `unreachable; serving last known instances of ${stale.join(', ')}` };
      },
      ...(deps.redis
        ? {
            redis: () =>
              deps.redis!.status === 'ready' ? true : { degraded: `${deps.redis!.status}; proxying uncached, rate limits per instance` },
          }
        : {}),
    },
  });
  app.register(fastifyWebsocket, {
    options: {
      // The gateway enforces the frame limit itself: a 1009 from the provider can be lost when it resets the
      // connection while the rest of the oversized frame is still being relayed.
      maxPayload: config.WS_MAX_PAYLOAD,
      handleProtocols: (_protocols, request) => ((request as unknown as Record<symbol, string | undefined>)[kUpstreamProtocol] || false),
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
    apiKeys: config.RATE_LIMIT_API_KEYS ? config.RATE_LIMIT_API_KEYS.split(',').map((k) => k.trim()).filter(Boolean) : [],
    metrics,
  });
  app.register(proxyRoutes, {
    routes,
    balancer,
    directory,
    cacheLayer,
    metrics,
    trustProxy: config.TRUST_PROXY,
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
