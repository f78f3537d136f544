import { RabbitBus, type BusMessage } from '@lizards/lib';

export const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A consumer of everything published to `exchange`, through its own queue, for assertions. */
export async function observeExchange(exchange: string, queue: string): Promise<{ bus: RabbitBus; messages: BusMessage[] }> {
  const bus = RabbitBus.create({ url: AMQP_URL });
  await bus.waitUntilConnected(10_000);
  await bus.declare({ exchanges: [{ name: exchange, type: 'topic' }], queues: [{ name: queue, durable: false, bindings: [{ exchange, pattern: '#' }] }] });
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
