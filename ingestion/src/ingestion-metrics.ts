import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface IngestionMetrics {
  fetches: Counter<'source' | 'outcome'>;
  fetchDuration: Histogram<'source'>;
  sourceProblems: Counter<'source' | 'reason'>;
  ticksAccepted: Counter<'source'>;
  ticksRejected: Counter<'source' | 'reason'>;
  ticksPublished: Counter<'source'>;
  outboxDepth: Gauge;
  rawStoreFull: Gauge;
}

/** Ingestion's metrics; the raw store's gauges are read from it at scrape time. */
export function createIngestionMetrics(
  registry: Registry,
  rawStore: { outboxDepth: () => Promise<number>; rawStoreFull: () => boolean },
): IngestionMetrics {
  const registers = [registry];
  return {
    fetches: new Counter({
      name: 'ingestion_fetches_total',
      help: 'Fetches per source and outcome (ok, http_error, network_error, timeout)',
      labelNames: ['source', 'outcome'],
      registers,
    }),
    fetchDuration: new Histogram({
      name: 'ingestion_fetch_duration_seconds',
      help: 'Fetch latency per source',
      labelNames: ['source'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    sourceProblems: new Counter({
      name: 'ingestion_source_problems_total',
      help:
        'Responses a source could not give ticks for, per source and reason (rate_limited, unknown_symbol, ' +
        'empty_body, layout_changed, ...)',
      labelNames: ['source', 'reason'],
      registers,
    }),
    ticksAccepted: new Counter({
      name: 'ingestion_ticks_accepted_total',
      help: 'Ticks that passed validation',
      labelNames: ['source'],
      registers,
    }),
    ticksRejected: new Counter({
      name: 'ingestion_ticks_rejected_total',
      help: 'Ticks rejected by validation, per source and reason',
      labelNames: ['source', 'reason'],
      registers,
    }),
    ticksPublished: new Counter({
      name: 'ingestion_ticks_published_total',
      help: 'Ticks confirmed by the broker (a republished tick counts again)',
      labelNames: ['source'],
      registers,
    }),
    outboxDepth: new Gauge({
      name: 'ingestion_outbox_depth',
      help: 'Raw documents whose ticks await a broker confirm',
      registers,
      async collect() {
        this.set(await rawStore.outboxDepth().catch(() => -1));
      },
    }),
    rawStoreFull: new Gauge({
      name: 'ingestion_raw_store_full',
      help: '1 while the raw store refuses new input (unpublished documents fill its budget), else 0',
      registers,
      collect() {
        this.set(rawStore.rawStoreFull() ? 1 : 0);
      },
    }),
  };
}
