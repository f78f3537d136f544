import { Counter, Gauge, type Registry } from 'prom-client';
import type { LeaseStore } from './lease-store.js';
import type { WatchQuota } from './watch-quota.js';

export interface RegistryMetrics {
  registrations: Counter<'service_id'>;
  deregistrations: Counter<'service_id'>;
  evictions: Counter<'service_id'>;
  capacityRefusals: Counter<'limit'>;
}

/** Gauges read at scrape time (instances, tombstones, blocking queries) and registration/eviction/refusal counters. */
export function createRegistryMetrics(registry: Registry, store: LeaseStore, watches: WatchQuota): RegistryMetrics {
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
  new Gauge({
    name: 'registry_tombstones',
    help: 'Change indexes kept for services that emptied',
    registers: [registry],
    collect() {
      this.set(store.tombstoneCount);
    },
  });
  new Gauge({
    name: 'registry_blocking_queries',
    help: 'Blocking queries held open',
    registers: [registry],
    collect() {
      this.set(watches.size);
    },
  });
  return {
    registrations: new Counter({
      name: 'registry_registrations_total',
      help: 'New instances registered',
      labelNames: ['service_id'],
      registers: [registry],
    }),
    deregistrations: new Counter({
      name: 'registry_deregistrations_total',
      help: 'Instances deregistered',
      labelNames: ['service_id'],
      registers: [registry],
    }),
    evictions: new Counter({
      name: 'registry_evictions_total',
      help: 'Instances evicted after their lease ran out',
      labelNames: ['service_id'],
      registers: [registry],
    }),
    capacityRefusals: new Counter({
      name: 'registry_capacity_refusals_total',
      help: 'Requests refused at a cap (services, instances, client_watches, watches)',
      labelNames: ['limit'],
      registers: [registry],
    }),
  };
}
