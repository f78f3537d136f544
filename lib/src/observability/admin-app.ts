import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { AdminNoRouteError } from '../errors.js';
import { useHttpErrors } from '../http/http-errors.js';
import { readinessReport, type ReadinessCheck } from './readiness.js';

export interface AdminAppOptions {
  registry: Registry;
  readiness: Record<string, ReadinessCheck>;
  log: FastifyBaseLogger;
}

/**
 * The app of a service's admin listener: /health, /ready (its dependency checks) and /metrics. They tell upstream
 * addresses, breaker states and backing-service health, so they are kept off the public port.
 */
export function buildAdminApp(opts: AdminAppOptions): FastifyInstance {
  const app = Fastify({ loggerInstance: opts.log });

  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const report = await readinessReport(opts.readiness);
    return reply.code(report.statusCode).send(report.body);
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    reply.header('content-type', opts.registry.contentType);
    return opts.registry.metrics();
  });

  useHttpErrors(app, { noRoute: (method, path) => new AdminNoRouteError(method, path) });
  return app;
}
