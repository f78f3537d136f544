import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitBus, type BusMessage, type BusState } from '@lizards/lib';
import { TcpProxy, waitFor } from '@lizards/testkit';
const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const broker = new URL(AMQP_URL);
const run = randomUUID().slice(0, 8);
const exchange = `lz.test.${run}.reconnect`;
const queue = `${exchange}.q`;
const liveQueue = `${exchange}.live`;

describe('RabbitBus when the broker connection is lost', () => {
  const proxy = new TcpProxy(broker.hostname, Number(broker.port || 5672));

  afterAll(async () => {
    await proxy.stop();
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    await ch.deleteQueue(queue);
    await ch.deleteExchange(exchange);
    await conn.close();
  });

  it(
    'when the connection is cut and restored, then it reconnects, re-declares topology, resumes consumers and ' +
      'redelivers unacked messages',
    async () => {
      const port = await proxy.start();
      const url = new URL(AMQP_URL);
      url.port = String(port);
      const bus = RabbitBus.create({ url: url.toString(), minBackoffMs: 50, maxBackoffMs: 500 });
      const states: BusState[] = [];
      bus.onStateChange((s) => states.push(s));
      await bus.waitUntilConnected(10_000);
      await bus.declare({
        exchanges: [{ name: exchange, type: 'topic' }],
        queues: [
          { name: queue, bindings: [{ exchange, pattern: '#' }] },
          { name: liveQueue, exclusive: true, bindings: [{ exchange, pattern: '#' }] },
        ],
      });

      const durable: BusMessage[] = [];
      let holdFirst = true;
      await bus.consume(
        queue,
        (m) => {
          durable.push(m);
          if (!holdFirst) m.ack();
        },
        { prefetch: 10 },
      );
      const live: BusMessage[] = [];
      await bus.consume(
        liveQueue,
        (m) => {
          live.push(m);
          m.ack();
        },
        { prefetch: 10 },
      );

      await bus.publish(exchange, 'AAPL', Buffer.from('before'));
      await waitFor(() => durable.length === 1 && live.length === 1, 5000, 'first deliveries');

      await proxy.cut();
      await waitFor(() => bus.state === 'disconnected', 10_000, 'disconnect noticed');
      await expect(bus.publish(exchange, 'AAPL', Buffer.from('during'))).rejects.toMatchObject({
        code: 'LZ_ERR_BUS_UNAVAILABLE',
      });
      // settling a message from the lost channel is a harmless no-op
      durable[0]!.ack();

      holdFirst = false;
      await proxy.restore();
      await bus.waitUntilConnected(15_000);
      await waitFor(() => durable.length === 2, 10_000, 'redelivery of the unacked message');
      expect(durable[1]!.body.toString()).toBe('before');
      expect(durable[1]!.redelivered).toBe(true);

      await bus.publish(exchange, 'AAPL', Buffer.from('after'));
      await waitFor(() => durable.length === 3 && live.length === 2, 10_000, 'deliveries after reconnect');
      expect(live[1]!.body.toString()).toBe('after');
      expect(states).toEqual(['connected', 'disconnected', 'connected']);
      await bus.close();
    },
  );
});
