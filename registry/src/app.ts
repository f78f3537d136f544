import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import {
  createMetricsRegistry,
  InvalidJsonError,
  serviceFastify,
  observabilityPlugin,
  useHttpErrors,
} from '@lizards/lib';
import { LeaseStore } from './lease-store.js';
import { DEFAULT_LIMITS, type RegistryLimits } from './registry-limits.js';
import { createRegistryMetrics } from './registry-metrics.js';
import { prometheusSdRoutes } from './routes/prometheus-sd-routes.js';
import { servicesRoutes } from './routes/services-routes.js';
import { FIELD_HINTS } from './field-hints.js';
import { WatchQuota } from './watch-quota.js';
import { writeAuthHook } from './write-auth.js';

export interface RegistryAppOptions {
  leaseTtlMs: number;
  evictionIntervalMs: number;
  /** Admin write token (REGISTRY_TOKEN); with neither it nor service tokens, writes are open. */
  token?: string | undefined;
  /** Service id → a token that writes that service only (REGISTRY_SERVICE_TOKENS). */
  serviceTokens?: Record<string, string> | undefined;
  bodyLimit?: number;
  /** Caps on services, instances, tombstones and blocking queries; each defaults to DEFAULT_LIMITS. */
  limits?: Partial<RegistryLimits>;
  logger?: FastifyServerOptions['logger'];
  metricsRegistry?: Registry;
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    leaseStore: LeaseStore;
  }
}

/** The registry service: leases with eviction, the REST contract, blocking queries and Prometheus SD. */
export function buildRegistryApp(opts: RegistryAppOptions): FastifyInstance {
  const app = serviceFastify('registry', {
    logger: opts.logger,
    bodyLimit: opts.bodyLimit ?? 16_384,
    // Strict types: "8080" is accepted for port_number by the schema itself, true or 3.0e0 tricks are not.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const store = new LeaseStore({ ttlMs: opts.leaseTtlMs, limits, ...(opts.now ? { now: opts.now } : {}) });
  const watches = new WatchQuota(limits.maxWatchesPerClient, limits.maxWatches);
  const metricsRegistry = opts.metricsRegistry ?? createMetricsRegistry('registry');
  const metrics = createRegistryMetrics(metricsRegistry, store, watches);
  app.decorate('leaseStore', store);

  // Any body is read as JSON, so `curl -d '{...}'` works without a content-type header.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => {
    try {
      done(null, body === '' ? undefined : JSON.parse(body as string));
    } catch (err) {
      done(new InvalidJsonError((err as Error).message), undefined);
    }
  });

  useHttpErrors(app, { fieldHints: FIELD_HINTS });

  app.register(observabilityPlugin, { registry: metricsRegistry });
  app.register(servicesRoutes, {
    store,
    metrics,
    watches,
    capacityRetryAfterS: Math.ceil(opts.leaseTtlMs / 1000),
    authorizeWrite: writeAuthHook({ adminToken: opts.token, serviceTokens: opts.serviceTokens }),
  });
  app.register(prometheusSdRoutes, {
    store,
    self: () => {
      const address = app.admin.server.address();
      if (!address || typeof address === 'string') return undefined;
      return `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    },
  });

  const sweeper = setInterval(() => {
    store.pruneTombstones();
    for (const instance of store.evictExpired()) {
      metrics.evictions.inc({ service_id: instance.service_id });
      app.log.warn(
        {
          serviceId: instance.service_id,
          instanceId: instance.instance_id,
          address: `${instance.ip_address}:${instance.port_number}`,
          lastHeartbeat: instance.last_heartbeat,
        },
        'lease expired; instance evicted',
      );
    }
  }, opts.evictionIntervalMs);
  sweeper.unref();
  app.addHook('preClose', async () => {
    clearInterval(sweeper);
    store.releaseWaiters();
  });

  return app;
}
