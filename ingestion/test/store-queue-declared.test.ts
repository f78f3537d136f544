import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitBus } from '@lizards/lib';
import { buildTestApp } from './support/ingestion-harness.js';
import { AMQP_URL, deleteStoreTopology, testStoreTopology } from './support/rabbit.js';
import { deleteRabbitObjects, queueDepth, waitFor } from '@lizards/testkit';

const store = testStoreTopology(`lz.test.${randomUUID().slice(0, 8)}.prices`);
const grpcTick = (i: number) => ({
  symbol: 'AAPL',
  price: 100 + i,
  timestamp: new Date(Date.parse('2024-09-14T12:00:00Z') + i).toISOString(),
});

describe('ingestion publishing before any provider ran', () => {
  afterAll(async () => {
    await deleteStoreTopology(store);
  });

  it(
    'when no provider has declared anything yet, then ingestion declares the store queue and its ticks wait ' +
      'there; when the queue is deleted, then its ticks stay in the outbox until the queue is back',
    async () => {
      const bus = RabbitBus.create({ url: AMQP_URL, minBackoffMs: 50, maxBackoffMs: 500 });
      await bus.waitUntilConnected();
      const { app, rawStore } = buildTestApp({ bus, settings: { store, outboxRetryMs: 100 } });
      await app.ready();
      try {
        const ingest = (i: number) =>
          app.ingestion.pipeline.ingest(
            { source: 'grpc', url: 'grpc://test', fetched_at: new Date(), status: 200, body: '[]' },
            () => ({
              candidates: [grpcTick(i)],
              problems: [],
            }),
          );
        expect(await ingest(1)).toMatchObject({ published: true });
        expect(await queueDepth(AMQP_URL, store.queue)).toBe(1);

        await deleteRabbitObjects(AMQP_URL, { queues: [store.queue], exchanges: [] });
        // Unroutable now: the broker returns it, so it is not published but kept, and the queue is declared again.
        expect(await ingest(2)).toMatchObject({ published: false });
        expect(await rawStore.outboxDepth()).toBe(1);
        await waitFor(
          async () => (await rawStore.outboxDepth()) === 0,
          10_000,
          'the outbox to publish into the declared-again queue',
        );
        expect(await queueDepth(AMQP_URL, store.queue)).toBe(1);
      } finally {
        await app.close();
      }
    },
  );
});
