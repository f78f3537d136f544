import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { DEAD_LETTER_REASON_HEADER } from '@lizards/lib';
import { deletePricesTopology, queueDepth as brokerQueueDepth, waitFor } from '@lizards/testkit';
import postgres from 'postgres';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_AMQP_URL = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

export const runId = (): string => randomUUID().replace(/-/g, '').slice(0, 8);

/** A schema of its own on the shared test server, dropped afterwards. */
export async function createTestSchema(run = runId()): Promise<{ schema: string; url: string; drop(): Promise<void> }> {
  const schema = `lz_${run}`;
  return {
    schema,
    url: TEST_DATABASE_URL,
    async drop() {
      const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
      try {
        await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await admin.end({ timeout: 5 });
      }
    },
  };
}

export interface TestTopology {
  pricesExchange: string;
  storeQueue: string;
  liveExchange: string;
  liveQueue: (instance: string) => string;
}

/** Exchange and queue names unique to this run. */
export function testTopology(run: string): TestTopology {
  return {
    pricesExchange: `lz.${run}.prices`,
    storeQueue: `lz.${run}.prices.store`,
    liveExchange: `lz.${run}.prices.live`,
    liveQueue: (instance) => `lz.${run}.prices.live.${instance}`,
  };
}

/** Deletes the run's exchanges and queues (the store queue, its dead-letter pair). */
export function deleteTopology(t: TestTopology): Promise<void> {
  return deletePricesTopology(TEST_AMQP_URL, { prices: t.pricesExchange, store: t.storeQueue, live: t.liveExchange });
}

/** Counts messages in a queue (e.g. the dead-letter queue). */
export function queueDepth(queue: string): Promise<number> {
  return brokerQueueDepth(TEST_AMQP_URL, queue);
}

/** Takes `n` messages off a dead-letter queue and returns the reason each carries. */
export async function deadLetterReasons(queue: string, n: number): Promise<string[]> {
  const conn = await amqp.connect(TEST_AMQP_URL);
  try {
    const ch = await conn.createChannel();
    const reasons: string[] = [];
    await waitFor(async () => {
      const m = await ch.get(queue, { noAck: true });
      if (m) reasons.push(String(m.properties.headers?.[DEAD_LETTER_REASON_HEADER]));
      return reasons.length === n;
    }, 10_000, `${n} dead-lettered messages`);
    return reasons;
  } finally {
    await conn.close();
  }
}
