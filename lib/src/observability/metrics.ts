import { Registry, collectDefaultMetrics } from 'prom-client';

/**
 * A Prometheus registry (new, or `registry` set up) with Node's default metrics, every series labelled with the
 * service.
 */
export function createMetricsRegistry<R extends Registry = Registry>(
  service: string,
  registry = new Registry() as R,
): R {
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
