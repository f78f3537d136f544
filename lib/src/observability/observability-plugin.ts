import fp from 'fastify-plugin';
import { Histogram, type Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { buildAdminApp } from './admin-app.js';
import type { ReadinessCheck } from './readiness.js';

export interface ObservabilityOptions {
  registry: Registry;
  /**
   * Named checks reported by the admin listener's /ready: 503 when one is down; 200 `ready`, or `degraded` when one is
   * degraded.
   */
  readiness?: Record<string, ReadinessCheck>;
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The admin listener's app (/health, /ready, /metrics): runService listens on ADMIN_PORT; tests can inject. Closed
     * with the app.
     */
    admin: FastifyInstance;
  }
}

async function observability(app: FastifyInstance, opts: ObservabilityOptions): Promise<void> {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [opts.registry],
  });

  // Callback style: on every request of every service, so no promise is made for it.
  app.addHook('onResponse', (request, reply, done) => {
    const route = request.routeOptions.url ?? '__unmatched__';
    if (route !== '/health') {
      const labels = { method: request.method, route, status_code: String(reply.statusCode) };
      duration.observe(labels, reply.elapsedTime / 1000);
    }
    done();
  });

  // Liveness stays on the public port (load balancers, container healthchecks); nothing in it tells anything.
  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  const admin = buildAdminApp({
    registry: opts.registry,
    readiness: opts.readiness ?? {},
    log: app.log.child({ listener: 'admin' }),
  });
  app.decorate('admin', admin);
  app.addHook('onClose', async () => admin.close());
}

/**
 * /health and the HTTP request-duration histogram on the app; /health, /ready and /metrics on its admin app
 * (`app.admin`).
 */
export const observabilityPlugin = fp(observability, { name: 'lizards-observability', fastify: '5.x' });
