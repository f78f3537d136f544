import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RabbitBus, type BusMessage } from '@lizards/lib';
import { closeByBroker, deleteRabbitObjects, queueDepth, recordChannels, waitFor } from '@lizards/testkit';

const AMQP_URL = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const run = randomUUID().slice(0, 8);
const exchange = `lz.test.${run}.recovery`;
let n = 0;

// consumer_timeout (30 min by default) is how a worker holding a batch through a long PostgreSQL outage loses its
// channel: the broker closes that consumer's channel with 406 PRECONDITION_FAILED and leaves the connection open.
// RabbitMQ 3.10 has no per-queue consumer timeout and the shared broker's global one must not be changed, so these
// tests have the broker close the channel with the same 406 by acking a delivery tag it never sent (closeByBroker).
describe('RabbitBus when the broker closes or cancels a consumer', () => {
  const recorder = recordChannels();
  const queues: string[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  let bus: RabbitBus;

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    bus = RabbitBus.create({ url: AMQP_URL, minBackoffMs: 50, maxBackoffMs: 500 });
    await bus.waitUntilConnected();
    await bus.declare({ exchanges: [{ name: exchange, type: 'direct' }] });
  });
  afterEach(() => {
    expect(unhandled).toEqual([]);
  });
  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    recorder.stop();
    await bus?.close();
    await deleteRabbitObjects(AMQP_URL, {
      queues: queues.flatMap((q) => [q, `${q}.dlq`]),
      exchanges: [exchange, ...queues.map((q) => `${q}.dlx`)],
    });
  });

  async function queueWithConsumer(
    handler: (m: BusMessage) => void | Promise<void>,
    deadLetter = false,
  ): Promise<{ queue: string; key: string }> {
    const key = `k${++n}`;
    const queue = `${exchange}.${key}`;
    queues.push(queue);
    await bus.declare({ queues: [{ name: queue, deadLetter, bindings: [{ exchange, pattern: key }] }] });
    await bus.consume(queue, handler, { prefetch: 10 });
    return { queue, key };
  }

  it(
    'when the broker closes the consumer channel (as consumer_timeout does), then settling its deliveries is a ' +
      'no-op, the consumer is reopened and gets them again and new messages too',
    async () => {
      const received: BusMessage[] = [];
      const { queue, key } = await queueWithConsumer((m) => void received.push(m));
      await bus.publish(exchange, key, Buffer.from('held'));
      await waitFor(() => received.length === 1, 5000, 'the first delivery');
      const closed = recorder.consuming(queue)!;
      await closeByBroker(closed);

      expect(() => received[0]!.ack()).not.toThrow();
      expect(() => received[0]!.nack()).not.toThrow();
      expect(received[0]!.stale).toBe(true);

      await waitFor(() => recorder.consuming(queue) !== closed, 10_000, 'the consumer to be reopened');
      await bus.publish(exchange, key, Buffer.from('after'));
      await waitFor(() => received.length === 3, 10_000, 'the held message again and the new one');
      expect(received.slice(1).map((m) => [m.body.toString(), m.redelivered])).toEqual([
        ['held', true],
        ['after', false],
      ]);
      for (const m of received.slice(1)) m.ack();
      await waitFor(async () => (await queueDepth(AMQP_URL, queue)) === 0, 5000, 'the queue to be empty');
    },
  );

  it(
    'when the broker cancels the consumer because its queue was deleted, then the queue is declared again and ' +
      'consuming resumes',
    async () => {
      const received: BusMessage[] = [];
      const { queue, key } = await queueWithConsumer((m) => {
        received.push(m);
        m.ack();
      });
      const first = recorder.consuming(queue)!;
      await deleteRabbitObjects(AMQP_URL, { queues: [queue], exchanges: [] });
      await waitFor(() => recorder.consuming(queue) !== first, 10_000, 'the consumer to be started again');
      await bus.publish(exchange, key, Buffer.from('after the delete'));
      await waitFor(() => received.length === 1, 10_000, 'a delivery from the declared-again queue');
      expect(received[0]!.body.toString()).toBe('after the delete');
    },
  );

  it(
    'when a handler fails after the broker closed its channel, then nothing rejects unhandled (the requeue is ' +
      'dropped: the broker redelivers anyway)',
    async () => {
      let fail!: () => void;
      const failing = new Promise<void>((resolve) => (fail = resolve));
      const attempts: BusMessage[] = [];
      const { queue, key } = await queueWithConsumer(async (m) => {
        attempts.push(m);
        if (attempts.length > 1) return m.ack();
        await failing;
        throw new Error('handler failed late');
      });
      await bus.publish(exchange, key, Buffer.from('x'));
      await waitFor(() => attempts.length === 1, 5000, 'the delivery');
      await closeByBroker(recorder.consuming(queue)!);
      fail();
      await waitFor(() => attempts.length === 2, 10_000, 'the redelivery on the reopened channel');
      await new Promise((resolve) => setImmediate(resolve));
    },
  );

  it(
    'when dead-lettering while the publish channel is being reopened, then it does not reject and the message ' +
      'still reaches the dead-letter queue',
    async () => {
      const received: BusMessage[] = [];
      const { queue, key } = await queueWithConsumer((m) => void received.push(m), true);
      await bus.publish(exchange, key, Buffer.from('poison'));
      await waitFor(() => received.length === 1, 5000, 'the delivery');
      // A publish to a missing exchange makes the broker close the publish channel; the bus opens a new one.
      await expect(bus.publish(`${exchange}.missing`, 'x', Buffer.from('?'))).rejects.toThrow();
      await expect(received[0]!.deadLetter('cannot be stored')).resolves.toBeUndefined();
      await waitFor(async () => (await queueDepth(AMQP_URL, `${queue}.dlq`)) === 1, 10_000, 'the dead letter');
      expect(await queueDepth(AMQP_URL, queue)).toBe(0);
    },
  );
});
