import fp from 'fastify-plugin';
import { Histogram, type Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';

/**
 * One dependency check for /ready: resolves to true or 'ok' (ready), false or a status word (not ready), or
 * `{ degraded: reason }` — the service still serves, with less (e.g. uncached): ready, and says so.
 */
export type ReadinessResult = boolean | string | { degraded: string };
export type ReadinessCheck = () => ReadinessResult | Promise<ReadinessResult>;

export interface ObservabilityOptions {
  registry: Registry;
  /** Named checks reported by /ready: 503 when one is down; 200 `ready`, or `degraded` when one is degraded. */
  readiness?: Record<string, ReadinessCheck>;
}

const HEALTH_PATHS = new Set(['/health', '/ready', '/metrics']);

async function observability(app: FastifyInstance, opts: ObservabilityOptions): Promise<void> {
  const duration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route pattern and status code',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [opts.registry],
  });

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? '__unmatched__';
    if (HEALTH_PATHS.has(route)) return;
    duration.observe(
      { method: request.method, route, status_code: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });

  app.get('/health', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

  app.get('/ready', { logLevel: 'warn' }, async (_request, reply) => {
    const checks: Record<string, string> = {};
    let ready = true;
    let degraded = false;
    for (const [name, check] of Object.entries(opts.readiness ?? {})) {
      let result: ReadinessResult;
      try {
        result = await check();
      } catch (err) {
        result = (err as Error).message || 'error';
      }
      if (typeof result === 'object') {
        degraded = true;
        checks[name] = `degraded: ${result.degraded}`;
        continue;
      }
      const ok = result === true || result === 'ok';
      checks[name] = ok ? 'ok' : result === false ? 'down' : String(result);
      ready &&= ok;
    }
    const status = !ready ? 'not ready' : degraded ? 'degraded' : 'ready';
    return reply.code(ready ? 200 : 503).send({ status, checks });
  });

  app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
    reply.header('content-type', opts.registry.contentType);
    return opts.registry.metrics();
  });
}

/** /health, /ready and /metrics routes plus an HTTP request-duration histogram. */
export const observabilityPlugin = fp(observability, { name: 'lizards-observability', fastify: '5.x' });
