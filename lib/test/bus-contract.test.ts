import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DEAD_LETTER_REASON_HEADER,
  deadLetterReasonOf,
  MemoryBroker,
  RabbitBus,
  type BusMessage,
  type MessageBus,
  type QueueSpec,
} from '@lizards/lib';
import { waitFor } from '@lizards/testkit';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = randomUUID().slice(0, 8);

interface BusFactory {
  /** Opens a new connection to the same broker. */
  connect(): Promise<MessageBus>;
  /** Ready messages waiting in a queue. */
  depth(queue: string): Promise<number>;
  cleanup(): Promise<void>;
}

function memoryFactory(): BusFactory {
  const broker = new MemoryBroker();
  return {
    connect: async () => broker.connect(),
    depth: async (q) => broker.depth(q),
    cleanup: async () => {},
  };
}

function rabbitFactory(): BusFactory {
  const opened: RabbitBus[] = [];
  const names = { queues: new Set<string>(), exchanges: new Set<string>() };
  let admin: amqp.ChannelModel | undefined;
  return {
    connect: async () => {
      const bus = RabbitBus.create({ url: AMQP_URL });
      opened.push(bus);
      await bus.waitUntilConnected(10_000);
      const declare = bus.declare.bind(bus);
      bus.declare = async (t) => {
        for (const e of t.exchanges ?? []) names.exchanges.add(e.name);
        for (const q of t.queues ?? []) {
          names.queues.add(q.name);
          if (q.deadLetter) {
            names.queues.add(`${q.name}.dlq`);
            names.exchanges.add(`${q.name}.dlx`);
          }
        }
        return declare(t);
      };
      return bus;
    },
    depth: async (q) => {
      admin ??= await amqp.connect(AMQP_URL);
      const ch = await admin.createChannel();
      ch.on('error', () => {});
      try {
        return (await ch.checkQueue(q)).messageCount;
      } finally {
        await ch.close().catch(() => {});
      }
    },
    cleanup: async () => {
      await Promise.all(opened.map((b) => b.close()));
      admin ??= await amqp.connect(AMQP_URL);
      const ch = await admin.createChannel();
      for (const q of names.queues) await ch.deleteQueue(q);
      for (const e of names.exchanges) await ch.deleteExchange(e);
      await ch.close();
      await admin.close();
    },
  };
}

describe.each([
  ['memory', memoryFactory],
  ['rabbitmq', rabbitFactory],
])('message bus contract (%s)', (_kind, makeFactory) => {
  let factory: BusFactory;
  let n = 0;
  const names = () => {
    n += 1;
    return { exchange: `lz.test.${run}.ex${n}`, queue: `lz.test.${run}.q${n}` };
  };

  beforeAll(() => {
    factory = makeFactory();
  });
  afterAll(async () => {
    await factory.cleanup();
  });

  async function setup(bus: MessageBus, deadLetter = false, queueSpec: Partial<QueueSpec> = {}) {
    const { exchange, queue } = names();
    await bus.declare({
      exchanges: [{ name: exchange, type: 'topic' }],
      queues: [{ name: queue, deadLetter, bindings: [{ exchange, pattern: '#' }], ...queueSpec }],
    });
    return { exchange, queue };
  }

  function collect(bus: MessageBus, queue: string, prefetch = 10, settle: (m: BusMessage) => void = (m) => m.ack()) {
    const received: BusMessage[] = [];
    const sub = bus.consume(
      queue,
      (m) => {
        received.push(m);
        settle(m);
      },
      { prefetch },
    );
    return { received, sub };
  }

  it('when a message is published, then publish resolves after confirm and a consumer receives it once', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus);
    await bus.publish(exchange, 'AAPL', Buffer.from('{"p":1}'), { messageId: 'm1', headers: { 'x-published-at': 42 } });
    expect(await factory.depth(queue)).toBe(1);
    const { received } = collect(bus, queue);
    await waitFor(() => received.length === 1, 5000, 'delivery');
    expect(received[0]!.body.toString()).toBe('{"p":1}');
    expect(received[0]!.routingKey).toBe('AAPL');
    expect(received[0]!.messageId).toBe('m1');
    expect(received[0]!.headers['x-published-at']).toBe(42);
    expect(received[0]!.redelivered).toBe(false);
  });

  it('when a topic binding does not match the routing key, then the queue gets nothing', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = names();
    await bus.declare({
      exchanges: [{ name: exchange, type: 'topic' }],
      queues: [{ name: queue, bindings: [{ exchange, pattern: 'AAPL' }] }],
    });
    await bus.publishBatch([
      { exchange, routingKey: 'MSFT', body: Buffer.from('a') },
      { exchange, routingKey: 'AAPL', body: Buffer.from('b') },
    ]);
    expect(await factory.depth(queue)).toBe(1);
  });

  it('when a fanout exchange has two queues, then each gets every message', async () => {
    const bus = await factory.connect();
    const exchange = `lz.test.${run}.fan${++n}`;
    const q1 = `${exchange}.a`;
    const q2 = `${exchange}.b`;
    await bus.declare({
      exchanges: [{ name: exchange, type: 'fanout' }],
      queues: [
        { name: q1, bindings: [{ exchange, pattern: '' }] },
        { name: q2, bindings: [{ exchange, pattern: '' }] },
      ],
    });
    await bus.publishBatch([1, 2, 3].map((i) => ({ exchange, routingKey: 'x', body: Buffer.from(String(i)) })));
    expect(await factory.depth(q1)).toBe(3);
    expect(await factory.depth(q2)).toBe(3);
  });

  it("when an exclusive queue's connection closes, then the queue is gone", async () => {
    const bus = await factory.connect();
    const exchange = `lz.test.${run}.excl${++n}`;
    await bus.declare({
      exchanges: [{ name: exchange, type: 'fanout' }],
      queues: [{ name: `${exchange}.mine`, exclusive: true, bindings: [{ exchange, pattern: '' }] }],
    });
    const received: BusMessage[] = [];
    await bus.consume(
      `${exchange}.mine`,
      (m) => {
        received.push(m);
        m.ack();
      },
      { prefetch: 10 },
    );
    await bus.publish(exchange, '', Buffer.from('live'));
    await waitFor(() => received.length === 1, 5000, 'delivery on the exclusive queue');
    await bus.close();
    await expect(factory.depth(`${exchange}.mine`)).rejects.toThrow();
  });

  it('when a message is nacked with requeue, then it is redelivered marked redelivered', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus);
    await bus.publish(exchange, 'k', Buffer.from('again'));
    const seen: BusMessage[] = [];
    await bus.consume(
      queue,
      (m) => {
        seen.push(m);
        if (seen.length === 1) m.nack({ requeue: true });
        else m.ack();
      },
      { prefetch: 1 },
    );
    await waitFor(() => seen.length === 2, 5000, 'redelivery');
    expect(seen[1]!.body.toString()).toBe('again');
    expect(seen[1]!.redelivered).toBe(true);
  });

  it(
    'when the consuming connection closes with messages unacked, ' + 'then another consumer gets them redelivered',
    async () => {
      const publisher = await factory.connect();
      const { exchange, queue } = await setup(publisher);
      await publisher.publishBatch([1, 2, 3].map((i) => ({ exchange, routingKey: 'k', body: Buffer.from(String(i)) })));
      const first = await factory.connect();
      const held: BusMessage[] = [];
      await first.consume(queue, (m) => void held.push(m), { prefetch: 10 });
      await waitFor(() => held.length === 3, 5000, 'first deliveries');
      await first.close();
      const second = await factory.connect();
      const { received } = collect(second, queue);
      await waitFor(() => received.length === 3, 10_000, 'redeliveries');
      expect(received.map((m) => m.body.toString()).sort()).toEqual(['1', '2', '3']);
      expect(received.every((m) => m.redelivered)).toBe(true);
    },
  );

  it('when a message is rejected without requeue, then it lands in the dead-letter queue', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus, true);
    await bus.publish(exchange, 'k', Buffer.from('poison'));
    await bus.consume(queue, (m) => m.nack({ requeue: false }), { prefetch: 1 });
    await waitFor(async () => (await factory.depth(`${queue}.dlq`)) === 1, 5000, 'dead letter');
    expect(await factory.depth(queue)).toBe(0);
  });

  it(
    'when a message is dead-lettered with a reason, then ' + 'the dead-letter queue holds it with that reason',
    async () => {
      const bus = await factory.connect();
      const { exchange, queue } = await setup(bus, true);
      await bus.publish(exchange, 'k', Buffer.from('bad shape'));
      await bus.consume(queue, (m) => m.deadLetter('missing price'), { prefetch: 1 });
      const dead: BusMessage[] = [];
      await bus.consume(
        `${queue}.dlq`,
        (m) => {
          dead.push(m);
          m.ack();
        },
        { prefetch: 1 },
      );
      await waitFor(() => dead.length === 1, 5000, 'dead letter');
      expect(dead[0]!.body.toString()).toBe('bad shape');
      expect(dead[0]!.headers[DEAD_LETTER_REASON_HEADER]).toBe('missing price');
    },
  );

  it('when a handler throws, then the message is retried once and then dead-lettered', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus, true);
    await bus.publish(exchange, 'k', Buffer.from('boom'));
    let calls = 0;
    await bus.consume(
      queue,
      () => {
        calls += 1;
        throw new Error('handler bug');
      },
      { prefetch: 1 },
    );
    await waitFor(async () => (await factory.depth(`${queue}.dlq`)) === 1, 5000, 'dead letter after retry');
    expect(calls).toBe(2);
  });

  it('when prefetch is 2, then at most 2 messages are outstanding until acked', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus);
    await bus.publishBatch([1, 2, 3, 4, 5].map((i) => ({ exchange, routingKey: 'k', body: Buffer.from(String(i)) })));
    const held: BusMessage[] = [];
    await bus.consume(queue, (m) => void held.push(m), { prefetch: 2 });
    await waitFor(() => held.length === 2, 5000, 'two deliveries');
    await new Promise((r) => setTimeout(r, 200));
    expect(held.length).toBe(2);
    held[0]!.ack();
    await waitFor(() => held.length === 3, 5000, 'third delivery after ack');
    for (const m of held.slice(1)) m.ack();
  });

  it('when two consumers share a queue, then each message goes to exactly one of them', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus);
    const a = collect(bus, queue, 5);
    const other = await factory.connect();
    const b = collect(other, queue, 5);
    await Promise.all([a.sub, b.sub]);
    await bus.publishBatch(
      Array.from({ length: 40 }, (_, i) => ({ exchange, routingKey: 'k', body: Buffer.from(String(i)) })),
    );
    await waitFor(() => a.received.length + b.received.length === 40, 10_000, 'all deliveries');
    const all = [...a.received, ...b.received].map((m) => Number(m.body.toString())).sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: 40 }, (_, i) => i));
    await other.close();
  });

  it('when publishing to an exchange that does not exist, then publish rejects and the bus keeps working', async () => {
    const bus = await factory.connect();
    await expect(bus.publish(`lz.test.${run}.missing`, 'k', Buffer.from('x'))).rejects.toThrow();
    const { exchange, queue } = await setup(bus);
    await waitFor(
      async () => {
        try {
          await bus.publish(exchange, 'k', Buffer.from('after'));
          return true;
        } catch {
          return false;
        }
      },
      5000,
      'publishing again',
    );
    expect(await factory.depth(queue)).toBeGreaterThanOrEqual(1);
  });

  it(
    'when a mandatory message matches no queue, then publish rejects with LZ_ERR_BUS_UNROUTABLE; routed or not ' +
      'mandatory, it resolves',
    async () => {
      const bus = await factory.connect();
      const { exchange, queue } = names();
      await bus.declare({
        exchanges: [{ name: exchange, type: 'topic' }],
        queues: [{ name: queue, bindings: [{ exchange, pattern: 'AAPL' }] }],
      });
      await expect(
        bus.publish(exchange, 'MSFT', Buffer.from('nowhere'), { mandatory: true, messageId: 'm1' }),
      ).rejects.toMatchObject({
        code: 'LZ_ERR_BUS_UNROUTABLE',
      });
      await expect(bus.publish(exchange, 'MSFT', Buffer.from('dropped'))).resolves.toBeUndefined();
      await expect(
        bus.publishBatch([
          { exchange, routingKey: 'AAPL', body: Buffer.from('routed'), options: { mandatory: true, messageId: 'm2' } },
          {
            exchange,
            routingKey: 'TSLA',
            body: Buffer.from('unroutable'),
            options: { mandatory: true, messageId: 'm3' },
          },
        ]),
      ).rejects.toMatchObject({ code: 'LZ_ERR_BUS_UNROUTABLE' });
      await bus.publish(exchange, 'AAPL', Buffer.from('routed again'), { mandatory: true, messageId: 'm2' });
      expect(await factory.depth(queue)).toBe(2);
    },
  );

  it(
    'when a quorum queue message keeps coming back, then past its delivery limit it is dead-lettered with ' +
      'reason delivery_limit',
    async () => {
      const bus = await factory.connect();
      const { exchange, queue } = await setup(bus, true, { type: 'quorum', deliveryLimit: 2 });
      await bus.publish(exchange, 'k', Buffer.from('poison'));
      let deliveries = 0;
      await bus.consume(
        queue,
        (m) => {
          deliveries++;
          m.nack({ requeue: true });
        },
        { prefetch: 1 },
      );
      const { received: dead } = collect(bus, `${queue}.dlq`, 1);
      await waitFor(() => dead.length === 1, 10_000, 'the dead letter');
      expect(deliveries).toBe(3);
      expect(dead[0]!.body.toString()).toBe('poison');
      expect(deadLetterReasonOf(dead[0]!.headers)).toBe('delivery_limit');
    },
  );

  it('when a delivery is settled, then it is stale and settling it again changes nothing', async () => {
    const bus = await factory.connect();
    const { exchange, queue } = await setup(bus);
    await bus.publish(exchange, 'k', Buffer.from('once'));
    const { received } = collect(bus, queue, 10, () => undefined);
    await waitFor(() => received.length === 1, 5000, 'delivery');
    expect(received[0]!.stale).toBe(false);
    received[0]!.ack();
    expect(received[0]!.stale).toBe(true);
    received[0]!.nack({ requeue: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(received.length).toBe(1);
    expect(await factory.depth(queue)).toBe(0);
  });

  it('when the bus is closed, then publish rejects with LZ_ERR_BUS_CLOSED', async () => {
    const bus = await factory.connect();
    await bus.close();
    expect(bus.state).toBe('closed');
    await expect(bus.publish('x', 'k', Buffer.from('x'))).rejects.toMatchObject({ code: 'LZ_ERR_BUS_CLOSED' });
  });
});
