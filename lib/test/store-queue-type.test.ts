import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitBus, storeTopology, type BusMessage, type StoreTopologyOptions } from '@lizards/lib';
import { deletePricesTopology, waitFor } from '@lizards/testkit';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = randomUUID().slice(0, 8);
let n = 0;
const topologies: StoreTopologyOptions[] = [];

function storeOptions(queueType: StoreTopologyOptions['queueType']): StoreTopologyOptions {
  const options = {
    exchange: `lz.test.${run}.prices${++n}`,
    queue: `lz.test.${run}.store${n}`,
    queueType,
    deliveryLimit: 5,
  };
  topologies.push(options);
  return options;
}

/**
 * Whether the broker counts a message's deliveries in `queue`: quorum queues add `x-delivery-count` to a message
 * that comes back, classic queues do not. Sends a probe, returns it once, and takes it.
 */
async function countsDeliveries(queue: string): Promise<boolean> {
  const conn = await amqp.connect(AMQP_URL);
  try {
    const ch = await conn.createChannel();
    ch.sendToQueue(queue, Buffer.from('probe'));
    const deliveries: amqp.ConsumeMessage[] = [];
    await ch.consume(queue, (m) => {
      if (!m) return;
      deliveries.push(m);
      if (deliveries.length === 1) ch.nack(m, false, true);
      else ch.ack(m);
    });
    const again = await waitFor(() => deliveries[1], 5000, `the probe to come back from ${queue}`);
    return again.properties.headers?.['x-delivery-count'] !== undefined;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

describe('the store queue type on RabbitMQ', () => {
  let bus: RabbitBus;

  beforeAll(async () => {
    bus = RabbitBus.create({ url: AMQP_URL });
    await bus.waitUntilConnected();
  });
  afterAll(async () => {
    await bus?.close();
    for (const t of topologies)
      await deletePricesTopology(AMQP_URL, { prices: t.exchange, store: t.queue, live: `${t.exchange}.live` });
  });

  it(
    'when the store topology is declared with the default type, then the store queue and its dead-letter queue ' +
      'are quorum queues',
    async () => {
      const options = storeOptions('quorum');
      await bus.declare(storeTopology(options));
      expect(await countsDeliveries(options.queue)).toBe(true);
      expect(await countsDeliveries(`${options.queue}.dlq`)).toBe(true);
    },
  );

  it(
    'when the classic type is chosen, then both are classic ' + 'queues, declared as before quorum queues existed',
    async () => {
      const options = storeOptions('classic');
      await bus.declare(storeTopology(options));
      expect(await countsDeliveries(options.queue)).toBe(false);
      expect(await countsDeliveries(`${options.queue}.dlq`)).toBe(false);
    },
  );

  it(
    'when the queue exists with the other type, then declaring rejects with LZ_ERR_BUS_TOPOLOGY_MISMATCH ' +
      'naming the queue, and the bus goes on working with the queue as it is',
    async () => {
      const classic = storeOptions('classic');
      await bus.declare(storeTopology(classic));
      const quorum = { ...classic, queueType: 'quorum' as const };
      const refused = await bus.declare(storeTopology(quorum)).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(refused).toMatchObject({ code: 'LZ_ERR_BUS_TOPOLOGY_MISMATCH' });
      expect((refused as Error).message).toMatch(
        new RegExp(`queue '${classic.queue.replaceAll('.', '\\.')}(\\.dlq)?'`),
      );
      expect((refused as Error).message).toContain("inequivalent arg 'x-queue-type'");

      const received: BusMessage[] = [];
      await bus.consume(
        classic.queue,
        (m) => {
          received.push(m);
          m.ack();
        },
        { prefetch: 1 },
      );
      await bus.publish(classic.exchange, 'AAPL', Buffer.from('still flowing'), { mandatory: true });
      await waitFor(() => received.length === 1, 5000, 'a delivery from the classic queue');
    },
  );
});
