import { Counter, Histogram, type Registry } from 'prom-client';

export interface WorkerMetrics {
  stored: Counter;
  duplicates: Counter;
  deadLettered: Counter;
  storeErrors: Counter;
  batchSeconds: Histogram;
}

export function createWorkerMetrics(registry: Registry): WorkerMetrics {
  return {
    stored: new Counter({
      name: 'provider_ticks_stored_total',
      help: 'ticks inserted into the store',
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'provider_ticks_duplicate_total',
      help: 'deliveries already stored (redelivered or republished)',
      registers: [registry],
    }),
    deadLettered: new Counter({
      name: 'provider_ticks_dead_lettered_total',
      help: 'messages that can never be stored',
      registers: [registry],
    }),
    storeErrors: new Counter({
      name: 'provider_store_errors_total',
      help: 'batch writes that failed and will be retried',
      registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: 'provider_store_batch_seconds',
      help: 'time to write and commit one batch',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
  };
}
