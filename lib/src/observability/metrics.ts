import { Registry, collectDefaultMetrics } from 'prom-client';

/** A Prometheus registry with Node's default metrics, every series labelled with the service. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}
