import { MemoryBroker, type MessageBus } from '@lizards/lib';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { Registry } from 'prom-client';
import { buildIngestionApp, type IngestionSettings } from '../../src/app.js';
import { EmbeddedRawStore } from '../../src/raw-store/embedded-raw-store.js';
import type { RawStore } from '../../src/raw-store/raw-store.js';
import type { Source } from '../../src/sources/source.js';

export const testSettings = (overrides: Partial<IngestionSettings> = {}): IngestionSettings => ({
  exchange: 'prices',
  publishBatchSize: 100,
  outboxRetryMs: 200,
  publishTimeoutMs: 5000,
  fetchTimeoutMs: 2000,
  fetchConcurrency: 4,
  backoffBaseMs: 100,
  backoffMaxMs: 1000,
  maxFutureSkewMs: 10_000,
  recoverAfterMs: 0,
  grpc: false,
  ...overrides,
});

export interface HarnessOptions {
  sources?: Source[];
  bus?: MessageBus;
  rawStore?: RawStore;
  settings?: Partial<IngestionSettings>;
  poll?: boolean;
  logger?: FastifyServerOptions['logger'];
}

/** The real app with embedded adapters unless told otherwise; nothing polls unless `poll` is true. */
export function buildTestApp(opts: HarnessOptions = {}): { app: FastifyInstance; rawStore: RawStore; bus: MessageBus; broker: MemoryBroker } {
  const broker = new MemoryBroker();
  const bus = opts.bus ?? broker.connect();
  const rawStore = opts.rawStore ?? new EmbeddedRawStore({ maxDocuments: 1000, retentionDays: 7 });
  const app = buildIngestionApp({
    sources: opts.sources ?? [],
    bus,
    rawStore,
    settings: testSettings(opts.settings),
    poll: opts.poll ?? false,
    logger: opts.logger ?? false,
    metricsRegistry: new Registry(),
  });
  return { app, rawStore, bus, broker };
}

/** Reads one counter's value from the app's /metrics. */
export async function metricValue(app: FastifyInstance, name: string, labels: Record<string, string>): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/metrics' });
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}
