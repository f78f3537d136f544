import amqp from 'amqplib';

/** Deletes a test run's queues and exchanges from a shared broker; missing ones are fine. */
export async function deleteRabbitObjects(url: string, names: { queues: string[]; exchanges: string[] }): Promise<void> {
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
    const { messageCount } = await ch.checkQueue(queue);
    await ch.close();
    return messageCount;
  } finally {
    await conn.close().catch(() => undefined);
  }
}

/**
 * Deletes a test run's price topology: the prices and live exchanges, the store queue and its dead-letter pair
 * (named as lib's deadLetterQueueName/deadLetterExchangeName name them; testkit does not import lib, which tests with it).
 */
export function deletePricesTopology(url: string, t: { prices: string; store: string; live: string }): Promise<void> {
  return deleteRabbitObjects(url, {
    queues: [t.store, `${t.store}.dlq`],
    exchanges: [t.prices, t.live, `${t.store}.dlx`],
  });
}
