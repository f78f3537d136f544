import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { deadLetterReasons, lockTicks, runId, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider, type ProviderHarness } from './support/provider-harness.js';
import { TcpProxy, waitFor } from '@lizards/testkit';
import { makeTicks, publishTicks } from './support/ticks.js';

const run = runId();
const topology = testTopology(run);
let testRun: TestRun;
let db: TestRun['db'];
let admin: postgres.Sql;
let publisher: RabbitBus;

const count = async (where = 'true') =>
  Number((await admin.unsafe(`SELECT count(*)::int AS n FROM "${db.schema}".ticks WHERE ${where}`))[0]!.n);
const distinctKeys = async () =>
  Number(
    (await admin.unsafe(`SELECT count(DISTINCT (symbol, source, "timestamp"))::int AS n FROM "${db.schema}".ticks`))[0]!
      .n,
  );

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
});
afterAll(async () => {
  await testRun?.close();
});

describe('store worker on prices.store', () => {
  let provider: ProviderHarness;
  beforeAll(async () => {
    provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology });
  });
  afterAll(async () => provider?.close());

  it('when the same messages are delivered twice, then every tick is stored exactly once', async () => {
    const ticks = ['AAPL', 'MSFT', 'TSLA', 'GOOG'].flatMap((s) => makeTicks(s, 250));
    await publishTicks(publisher, topology.pricesExchange, ticks);
    await publishTicks(publisher, topology.pricesExchange, ticks);
    const duplicates = async () =>
      (await provider.metrics.getSingleMetric('provider_ticks_duplicate_total')!.get()).values[0]?.value ?? 0;
    await waitFor(async () => (await duplicates()) >= 1000, 20_000, 'second delivery processed');
    expect(await count()).toBe(1000);
    expect(await distinctKeys()).toBe(1000);
    const symbols = await admin.unsafe(`SELECT symbol FROM "${db.schema}".symbols ORDER BY symbol`);
    expect(symbols.map((r) => r.symbol)).toEqual(['AAPL', 'GOOG', 'MSFT', 'TSLA']);
  });

  it(
    'when a message can never be stored, then it goes to the dead-letter queue with its reason and the rest is ' +
      'stored',
    async () => {
      await publishTicks(publisher, topology.pricesExchange, [
        { symbol: 'AAPL', price: -1, timestamp: '2024-09-14T13:00:00.000Z', source: 'simulated' },
        { symbol: 'lower', price: 1, timestamp: '2024-09-14T13:00:00.000Z', source: 'simulated' },
        { symbol: 'AAPL', price: 1, timestamp: 'yesterday', source: 'simulated' },
        ...makeTicks('NVDA', 3),
      ]);
      await publisher.publish(topology.pricesExchange, 'AAPL', Buffer.from('{not json'));
      const reasons = await deadLetterReasons(`${topology.storeQueue}.dlq`, 4);
      expect(reasons.some((r) => r.startsWith('malformed JSON'))).toBe(true);
      expect(reasons.filter((r) => r.startsWith('invalid tick')).length).toBe(3);
      expect(reasons.find((r) => r.includes('/price'))).toBeDefined();
      await waitFor(async () => (await count(`symbol = 'NVDA'`)) === 3, 10_000, 'NVDA stored');
    },
  );
});

describe('worker connection killed mid-batch', () => {
  it(
    'when the broker connection drops while a batch is being written, then nothing is lost and nothing is ' + 'doubled',
    async () => {
      const proxy = new TcpProxy('127.0.0.1', 5672);
      const port = await proxy.start();
      const provider = await startProvider({
        schema: db.schema,
        databaseUrl: db.url,
        topology,
        amqpUrl: `amqp://guest:guest@127.0.0.1:${port}`,
      });
      let lock: Awaited<ReturnType<typeof lockTicks>> | undefined;
      try {
        // Hold the table so the worker's batch insert waits inside its transaction.
        const ticks = makeTicks('AMZN', 400);
        lock = await lockTicks(db.url, db.schema, 'EXCLUSIVE');
        await publishTicks(publisher, topology.pricesExchange, ticks);
        await waitFor(
          async () =>
            (
              await admin`SELECT 1 FROM pg_stat_activity
                WHERE application_name = 'lizards-provider-writer' AND wait_event_type = 'Lock'
                  AND query ILIKE '%INSERT INTO ticks%'`
            ).length > 0,
          10_000,
          'a batch insert waiting on the lock',
        );
        await proxy.cut();
        await lock.release();
        await proxy.restore();
        await waitFor(async () => (await count(`symbol = 'AMZN'`)) === 400, 20_000, 'all AMZN ticks stored');
        const redelivered = async () =>
          (await provider.metrics.getSingleMetric('provider_ticks_duplicate_total')!.get()).values[0]?.value ?? 0;
        await waitFor(async () => (await redelivered()) > 0, 10_000, 'redelivered batch deduplicated');
        expect(await count(`symbol = 'AMZN'`)).toBe(400);
        expect(await distinctKeys()).toBe(await count());
      } finally {
        await lock?.release();
        await provider.close();
        await proxy.stop();
      }
    },
  );
});
