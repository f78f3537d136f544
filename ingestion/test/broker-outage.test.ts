import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitBus, type BusMessage } from '@lizards/lib';
import { SimulatedSource } from '../src/sources/simulated-source.js';
import { buildTestApp } from './support/ingestion-harness.js';
import { AMQP_URL, deleteStoreTopology, observeExchange, testStoreTopology } from './support/rabbit.js';
import { tickIdsOf } from './support/tick-ids.js';
import { TcpProxy, waitFor } from '@lizards/testkit';
const run = randomUUID().slice(0, 8);
const exchange = `lz.test.${run}.prices`;
const queue = `${exchange}.observer`;
const store = testStoreTopology(exchange);
const broker = new URL(AMQP_URL);

describe('a RabbitMQ outage while ingesting', () => {
  const proxy = new TcpProxy(broker.hostname, Number(broker.port || 5672));
  let observer: { bus: RabbitBus; messages: BusMessage[] } | undefined;

  afterAll(async () => {
    await proxy.stop();
    await observer?.bus.close();
    await deleteStoreTopology(store, [queue]);
  });

  it(
    'when the broker connection is cut and restored, then fetching and storing go on, every accepted tick is ' +
      'published at least once and the outbox drains to zero',
    async () => {
      observer = await observeExchange(exchange, queue);
      const port = await proxy.start();
      const url = new URL(AMQP_URL);
      url.port = String(port);
      const bus = RabbitBus.create({ url: url.toString(), minBackoffMs: 50, maxBackoffMs: 400 });
      await bus.waitUntilConnected(10_000);
      const source = new SimulatedSource({ seed: 7, tickMs: 50, symbols: ['AAPL', 'MSFT', 'NVDA', 'TSLA', 'AMZN'] });
      const { app, rawStore } = buildTestApp({
        sources: [source],
        bus,
        poll: true,
        settings: { store, outboxRetryMs: 200 },
      });
      await app.ready();
      const scheduler = app.ingestion.scheduler;
      const documents = () => scheduler.status()[0]!.documents;

      await waitFor(() => observer!.messages.length >= 10, 10_000, 'ticks flowing before the outage');

      await proxy.cut();
      await waitFor(() => bus.state === 'disconnected', 10_000, 'the bus noticing the outage');
      const storedAtCut = documents();
      // Still fetching and storing: the outbox grows while nothing can be published.
      await waitFor(
        async () => (await rawStore.outboxDepth()) >= 5,
        10_000,
        'unpublished documents piling up in the outbox',
      );
      expect(documents()).toBeGreaterThan(storedAtCut);
      const depthDuringOutage = await rawStore.outboxDepth();
      expect(depthDuringOutage).toBeGreaterThanOrEqual(5);

      await proxy.restore();
      await bus.waitUntilConnected(15_000);
      await waitFor(
        async () => (await rawStore.outboxDepth()) === 0,
        15_000,
        'the outbox draining after the broker came back',
      );

      await scheduler.stop();
      await app.ingestion.publisher.drain();
      expect(await rawStore.outboxDepth()).toBe(0);
      await observer.bus.publish(exchange, 'SENTINEL', Buffer.from('{}'));
      await waitFor(() => observer!.messages.some((m) => m.routingKey === 'SENTINEL'), 10_000, 'the sentinel');

      const all = await rawStore.recent({ limit: 10_000 });
      const accepted = all.flatMap((d) => d.ticks.map((t) => `${t.source}:${t.symbol}:${t.timestamp}`));
      const received = new Set(observer.messages.filter((m) => m.routingKey !== 'SENTINEL').flatMap(tickIdsOf));
      expect(accepted.length).toBeGreaterThan(depthDuringOutage * 5 - 1);
      expect(accepted.filter((id) => !received.has(id))).toEqual([]);
      expect(all.every((d) => d.published)).toBe(true);
      await app.close();
    },
  );
});
