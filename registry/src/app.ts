import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Registry } from 'prom-client';
import { createMetricsRegistry, loggerOptions, observabilityPlugin } from '@lizards/lib';
import { InvalidJsonError, UnauthorizedError } from './errors.js';
import { LeaseStore } from './lease-store.js';
import { createRegistryMetrics } from './registry-metrics.js';
import { prometheusSdRoutes } from './routes/prometheus-sd-routes.js';
import { servicesRoutes } from './routes/services-routes.js';
import { describeValidationError } from './validation-errors.js';

export interface RegistryAppOptions {
  leaseTtlMs: number;
  evictionIntervalMs: number;
  token?: string | undefined;
  bodyLimit?: number;
  logger?: FastifyServerOptions['logger'];
  metricsRegistry?: Registry;
  now?: () => number;
}

declare module 'fastify' {
  interface FastifyInstance {
    leaseStore: LeaseStore;
  }
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7) : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** The registry service: leases with eviction, the REST contract, blocking queries and Prometheus SD. */
export function buildRegistryApp(opts: RegistryAppOptions): FastifyInstance {
  const app = Fastify({
    logger: opts.logger ?? loggerOptions({ level: 'info', service: 'registry' }),
    bodyLimit: opts.bodyLimit ?? 16_384,
    // Strict types: "8080" is accepted for port_number by the schema itself, true or 3.0e0 tricks are not.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
    return503OnClosing: true,
  });
  const store = new LeaseStore(opts.leaseTtlMs, opts.now);
  const metricsRegistry = opts.metricsRegistry ?? createMetricsRegistry('registry');
  const metrics = createRegistryMetrics(metricsRegistry, store);
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

  app.addHook('onRequest', async (request) => {
    if (opts.token && request.method !== 'GET' && request.method !== 'HEAD' && request.url.startsWith('/services')) {
      if (!tokenMatches(request.headers.authorization, opts.token)) throw new UnauthorizedError();
    }
  });

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation) {
      const { field, message } = describeValidationError(error);
      return reply.code(400).send({ error: 'Bad Request', message, field });
    }
    const status = error.statusCode && error.statusCode >= 400 ? error.statusCode : 500;
    if (status === 401) reply.header('www-authenticate', 'Bearer realm="lizards-registry"');
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    const field = status === 413 || error.code === 'LZ_ERR_REGISTRY_INVALID_JSON' ? 'body' : undefined;
    const message = status === 413 ? `body: larger than the limit of ${opts.bodyLimit ?? 16_384} bytes` : error.message;
    return reply.code(status).send({ error: httpStatusText(status), message, ...(field ? { field } : {}), code: error.code });
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: 'Not Found', message: `No route ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.register(observabilityPlugin, { registry: metricsRegistry });
  app.register(servicesRoutes, { store, metrics });
  app.register(prometheusSdRoutes, {
    store,
    self: () => {
      const address = app.server.address();
      if (!address || typeof address === 'string') return undefined;
      return `${address.address.includes(':') ? `[${address.address}]` : address.address}:${address.port}`;
    },
  });

  const sweeper = setInterval(() => {
    for (const instance of store.evictExpired()) {
      metrics.evictions.inc({ service_id: instance.service_id });
      app.log.warn(
        { serviceId: instance.service_id, instanceId: instance.instance_id, address: `${instance.ip_address}:${instance.port_number}`, lastHeartbeat: instance.last_heartbeat },
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

function httpStatusText(status: number): string {
  return (
    { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 503: 'Service Unavailable' } as Record<number, string>
  )[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error');
}
