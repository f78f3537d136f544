import { RabbitBus, type BusMessage, type StoreTopologyOptions } from '@lizards/lib';
import { deleteRabbitObjects } from '@lizards/testkit';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A store topology of the test run's own on the shared broker: ingestion declares it (exchange, store queue, DLQ). */
export function testStoreTopology(exchange: string): StoreTopologyOptions {
  return { exchange, queue: `${exchange}.store`, queueType: 'quorum', deliveryLimit: 20 };
}

/** Deletes what ingestion declared for `testStoreTopology`, and further queues of the test. */
export function deleteStoreTopology(t: StoreTopologyOptions, queues: string[] = []): Promise<void> {
  return deleteRabbitObjects(AMQP_URL, {
    queues: [t.queue, `${t.queue}.dlq`, ...queues],
    exchanges: [t.exchange, `${t.queue}.dlx`],
  });
}

/** A consumer of everything published to `exchange`, through its own queue, for assertions. */
export async function observeExchange(
  exchange: string,
  queue: string,
): Promise<{ bus: RabbitBus; messages: BusMessage[] }> {
  const bus = RabbitBus.create({ url: AMQP_URL });
  await bus.waitUntilConnected(10_000);
  await bus.declare({
    exchanges: [{ name: exchange, type: 'topic' }],
    queues: [{ name: queue, durable: false, bindings: [{ exchange, pattern: '#' }] }],
  });
  const messages: BusMessage[] = [];
  await bus.consume(
    queue,
    (m) => {
      messages.push(m);
      m.ack();
    },
    { prefetch: 100 },
  );
  return { bus, messages };
}
