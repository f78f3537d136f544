import { MemoryBroker, type BusMessage, type MessageBus } from '@lizards/lib';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { Registry } from 'prom-client';
import { buildIngestionApp, type IngestionAppOptions, type IngestionSettings } from '../../src/app.js';
import { EmbeddedRawStore } from '../../src/raw-store/embedded-raw-store.js';
import type { RawStore } from '../../src/raw-store/raw-store.js';

export const INGEST_TEST_TOKEN = 'ingest-test-token-0123456789abcdef';
/** Raw store budget of the tests: far above what any of them stores. */
export const TEST_RAW_STORE_BYTES = 64 * 1024 * 1024;

export const testSettings = (overrides: Partial<IngestionSettings> = {}): IngestionSettings => ({
  store: { exchange: 'prices', queue: 'prices.store', queueType: 'quorum', deliveryLimit: 20 },
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
  sources?: IngestionAppOptions['sources'];
  bus?: MessageBus;
  rawStore?: RawStore;
  settings?: Partial<IngestionSettings>;
  poll?: boolean;
  logger?: FastifyServerOptions['logger'];
}

/** The real app with embedded adapters unless told otherwise; nothing polls unless `poll` is true. */
export function buildTestApp(opts: HarnessOptions = {}): {
  app: FastifyInstance;
  rawStore: RawStore;
  bus: MessageBus;
  broker: MemoryBroker;
} {
  const broker = new MemoryBroker();
  const bus = opts.bus ?? broker.connect();
  const rawStore = opts.rawStore ?? new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7 });
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

/**
 * Every message published to the `prices` exchange of `bus` from now on, consumed and acked through a queue `observer`.
 */
export async function observePublished(bus: MessageBus): Promise<BusMessage[]> {
  await bus.declare({ queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }] });
  const messages: BusMessage[] = [];
  await bus.consume(
    'observer',
    (m) => {
      messages.push(m);
      m.ack();
    },
    { prefetch: 100 },
  );
  return messages;
}

/** Reads one counter's value from the app's /metrics (its admin listener). */
export async function metricValue(app: FastifyInstance, name: string, labels: Record<string, string>): Promise<number> {
  const res = await app.admin.inject({ method: 'GET', url: '/metrics' });
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = res.body.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line ? Number(line.split(' ').pop()) : 0;
}
