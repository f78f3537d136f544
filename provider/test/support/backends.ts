import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import { deadLetterReasonOf, type QueueType } from '@lizards/lib';
import { TcpProxy, deletePricesTopology, queueDepth as brokerQueueDepth, waitFor } from '@lizards/testkit';
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

/**
 * The test database through a TCP proxy of its own: cutting it is a PostgreSQL outage for this test's provider alone.
 */
export async function proxiedDatabase(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const proxy = new TcpProxy('127.0.0.1', 5432);
  const port = await proxy.start();
  return { proxy, url: url.replace('127.0.0.1:5432', `127.0.0.1:${port}`) };
}

export interface TestTopology {
  pricesExchange: string;
  storeQueue: string;
  storeQueueType: QueueType;
  storeDeliveryLimit: number;
  liveExchange: string;
  liveQueue: (instance: string) => string;
}

/** Exchange and queue names unique to this run; the store queue as the provider declares it by default. */
export function testTopology(run: string): TestTopology {
  return {
    pricesExchange: `lz.${run}.prices`,
    storeQueue: `lz.${run}.prices.store`,
    storeQueueType: 'quorum',
    storeDeliveryLimit: 20,
    liveExchange: `lz.${run}.prices.live`,
    liveQueue: (instance) => `lz.${run}.prices.live.${instance}`,
  };
}

/** The environment of a provider process on the test run's schema, broker and topology. */
export function providerProcessEnv(db: { url: string; schema: string }, t: TestTopology): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    DATABASE_SCHEMA: db.schema,
    AMQP_URL: TEST_AMQP_URL,
    PRICES_EXCHANGE: t.pricesExchange,
    STORE_QUEUE: t.storeQueue,
    LIVE_EXCHANGE: t.liveExchange,
    // The fixtures' ticks are from 2024 (makeTicks): past the default 30-day retention, whose maintenance run at start
    // would drop the day partition they were just stored in.
    TICK_RETENTION: 'forever',
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
    await waitFor(
      async () => {
        const m = await ch.get(queue, { noAck: true });
        if (m) reasons.push(String(deadLetterReasonOf(m.properties.headers ?? {})));
        return reasons.length === n;
      },
      10_000,
      `${n} dead-lettered messages`,
    );
    return reasons;
  } finally {
    await conn.close();
  }
}

/**
 * Holds `LOCK TABLE <schema>.ticks IN <mode> MODE` in a transaction of its own connection until `release()`,
 * resolving once PostgreSQL has granted it: writes (or, in ACCESS EXCLUSIVE mode, reads too) of the ticks table
 * wait meanwhile. `release()` may be called more than once.
 */
export async function lockTicks(
  url: string,
  schema: string,
  mode: 'EXCLUSIVE' | 'ACCESS EXCLUSIVE',
): Promise<{ release(): Promise<void> }> {
  const locker = postgres(url, { max: 1, onnotice: () => {} });
  const watcher = postgres(url, { max: 1, onnotice: () => {} });
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const holding = locker.begin(async (tx) => {
    await tx.unsafe(`LOCK TABLE "${schema}".ticks IN ${mode} MODE`);
    await released;
  });
  const lockMode = mode === 'EXCLUSIVE' ? 'ExclusiveLock' : 'AccessExclusiveLock';
  const granted = async () =>
    (
      await watcher`SELECT 1 FROM pg_locks
        WHERE mode = ${lockMode} AND granted AND relation = ${`"${schema}".ticks`}::regclass`
    ).length > 0;
  let ended: Promise<void> | undefined;
  const end = () =>
    (ended ??= (async () => {
      release();
      await holding;
      await Promise.all([locker.end(), watcher.end()]);
    })());
  try {
    await waitFor(granted, 5000, 'table locked');
  } catch (err) {
    await end();
    throw err;
  }
  return { release: end };
}
