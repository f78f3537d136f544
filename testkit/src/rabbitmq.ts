import amqp from 'amqplib';

/** Deletes a test run's queues and exchanges from a shared broker; missing ones are fine. */
export async function deleteRabbitObjects(
  url: string,
  names: { queues: string[]; exchanges: string[] },
): Promise<void> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    ch.on('error', () => undefined);
    for (const q of names.queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const e of names.exchanges) await ch.deleteExchange(e).catch(() => undefined);
    await ch.close().catch(() => undefined);
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/** Ready (undelivered) messages in a queue, e.g. a dead-letter queue or a store queue waiting for its worker. */
export async function queueDepth(url: string, queue: string): Promise<number> {
  const conn = await amqp.connect(url);
  try {
    const ch = await conn.createChannel();
    // A missing queue closes the channel: the rejected check says so, the channel's error event need not.
    ch.on('error', () => undefined);
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * Deletes a test run's price topology: the prices and live exchanges, the store queue and its dead-letter pair
 * (named as lib's deadLetterQueueName/deadLetterExchangeName name them; testkit does not import lib, which tests with
 * it).
 */
export function deletePricesTopology(url: string, t: { prices: string; store: string; live: string }): Promise<void> {
  return deleteRabbitObjects(url, {
    queues: [t.store, `${t.store}.dlq`],
    exchanges: [t.prices, t.live, `${t.store}.dlx`],
  });
}

/** The channels amqplib connections made after `recordChannels()` consume on, by queue. */
export interface ChannelRecorder {
  /** The channel that most recently started consuming `queue` (undefined before any did). */
  consuming(queue: string): amqp.Channel | undefined;
  /** Stops recording: connections made afterwards are left alone. */
  stop(): void;
}

/**
 * Records, for every connection amqplib opens from now on in this process, which channel consumes which queue,
 * so that a test can have the broker close one particular consumer's channel (see `closeByBroker`).
 */
export function recordChannels(): ChannelRecorder {
  type Connect = (url: string | amqp.Options.Connect, socketOptions?: unknown) => Promise<amqp.ChannelModel>;
  const lib = amqp as unknown as { connect: Connect };
  const connect = lib.connect;
  const byQueue = new Map<string, amqp.Channel>();
  lib.connect = async (url, socketOptions) => {
    const model = await connect(url, socketOptions);
    const createChannel = model.createChannel.bind(model);
    model.createChannel = async (...options: Parameters<typeof model.createChannel>) => {
      const channel = await createChannel(...options);
      const consume = channel.consume.bind(channel);
      channel.consume = (queue, ...rest) => {
        byQueue.set(queue, channel);
        return consume(queue, ...rest);
      };
      return channel;
    };
    return model;
  };
  return { consuming: (queue) => byQueue.get(queue), stop: () => (lib.connect = connect) };
}

/**
 * Makes the broker close `channel` with 406 PRECONDITION_FAILED, the way consumer_timeout closes the channel of a
 * consumer that held a delivery too long: it acks a delivery tag the broker never sent on it. Resolves once closed.
 */
export async function closeByBroker(channel: amqp.Channel): Promise<void> {
  const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
  channel.ack({ fields: { deliveryTag: 2 ** 31 } } as amqp.Message);
  await closed;
}
