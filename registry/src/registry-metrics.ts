import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaseStore } from './lease-store.js';

export interface RegistryMetrics {
  registrations: Counter<'service_id'>;
  deregistrations: Counter<'service_id'>;
  evictions: Counter<'service_id'>;
}

/** Instance gauge (read from the store at scrape time) and registration/eviction counters. */
export function createRegistryMetrics(registry: Registry, store: LeaseStore): RegistryMetrics {
  new Gauge({
    name: 'registry_instances',
    help: 'Live instances per service',
    labelNames: ['service_id'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of store.list()) this.set({ service_id: s.serviceId }, s.instances.length);
    },
  });
  return {
    registrations: new Counter({ name: 'registry_registrations_total', help: 'New instances registered', labelNames: ['service_id'], registers: [registry] }),
    deregistrations: new Counter({ name: 'registry_deregistrations_total', help: 'Instances deregistered', labelNames: ['service_id'], registers: [registry] }),
    evictions: new Counter({ name: 'registry_evictions_total', help: 'Instances evicted after their lease ran out', labelNames: ['service_id'], registers: [registry] }),
  };
}
