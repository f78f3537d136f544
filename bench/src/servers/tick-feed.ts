// What the fan-out baselines broadcast: the run's `prices` exchange consumed with amqplib (an exclusive queue bound to
// every symbol), the same ticks the provider stores, without PostgreSQL.
import { connect } from 'amqplib';

export interface FeedTick {
  symbol: string;
  price: number;
  timestamp: string;
  source: string;
}

/** Calls `onTick` for every tick published to PRICES_EXCHANGE on AMQP_URL; resolves to a function that disconnects. */
export async function consumeTicks(onTick: (tick: FeedTick) => void): Promise<() => Promise<void>> {
  const exchange = process.env.PRICES_EXCHANGE ?? 'prices';
  const amqp = await connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await amqp.createChannel();
  await channel.assertExchange(exchange, 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, exchange, '#');
  await channel.consume(
    queue,
    (m) => {
      if (m) onTick(JSON.parse(m.content.toString()) as FeedTick);
    },
    { noAck: true },
  );
  return () => amqp.close();
}
