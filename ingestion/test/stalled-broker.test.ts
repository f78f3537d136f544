import { describe, expect, it } from 'vitest';
import { MemoryBroker, type MessageBus, type OutgoingMessage } from '@lizards/lib';
import { buildTestApp } from './support/ingestion-harness.js';
import { waitFor } from '@lizards/testkit';

/** A connected bus whose confirms do not come until the test opens the gate (a broker that stalls). */
function stalledBus(inner: MessageBus): { bus: MessageBus; open: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const bus: MessageBus = {
    kind: inner.kind,
    get state() {
      return inner.state;
    },
    declare: (t) => inner.declare(t),
    publish: async (exchange, key, body, options) => {
      await gate;
      return inner.publish(exchange, key, body, options);
    },
    publishBatch: async (messages: OutgoingMessage[]) => {
      await gate;
      return inner.publishBatch(messages);
    },
    consume: (q, h, o) => inner.consume(q, h, o),
    onStateChange: (l) => inner.onStateChange(l),
    close: () => inner.close(),
  };
  return { bus, open };
}

describe('a broker that stops confirming', () => {
  it(
    'when confirms stall, then ingesting does not wait past the publish timeout, the ticks stay in the outbox, ' +
      'and they are published once when confirms resume',
    async () => {
      const broker = new MemoryBroker();
      const observer = broker.connect();
      await observer.declare({
        exchanges: [{ name: 'prices', type: 'topic' }],
        queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }],
      });
      const { bus, open } = stalledBus(broker.connect());
      const { app, rawStore } = buildTestApp({ bus, settings: { publishTimeoutMs: 100, outboxRetryMs: 50 } });
      await app.ready();

      const outcome = await app.ingestion.pipeline.ingest(
        { source: 'grpc', url: 'grpc://test', fetched_at: new Date(), status: 200, body: '{}' },
        () => ({ candidates: [{ symbol: 'AAPL', price: 1, timestamp: '2024-09-14T12:00:00Z' }], problems: [] }),
      );
      expect(outcome).toMatchObject({ published: false, accepted: [{ symbol: 'AAPL' }] });
      expect(await rawStore.outboxDepth()).toBe(1);

      open();
      await waitFor(async () => (await rawStore.outboxDepth()) === 0, 5000, 'the stalled publish completing');
      await app.ingestion.publisher.drain();
      await new Promise((resolve) => setImmediate(resolve));
      expect(broker.depth('observer')).toBe(1);
      await app.close();
      await observer.close();
    },
  );
});
