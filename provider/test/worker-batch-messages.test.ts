import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { waitFor } from '@lizards/testkit';
import { deadLetterReasons, runId, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks, type TestTick } from './support/ticks.js';

const run = runId();
const topology = testTopology(run);
let testRun: TestRun;
let db: TestRun['db'];
let admin: postgres.Sql;
let publisher: RabbitBus;
let provider: ProviderHarness;

const count = async (where = 'true') =>
  Number((await admin.unsafe(`SELECT count(*)::int AS n FROM "${db.schema}".ticks WHERE ${where}`))[0]!.n);

/** Several ticks of one symbol in one message, as ingestion publishes a batch. */
async function publishBatchMessage(
  ticks: (TestTick | Record<string, unknown>)[],
  symbol = String((ticks[0] as TestTick).symbol),
): Promise<void> {
  await publisher.publish(topology.pricesExchange, symbol, Buffer.from(JSON.stringify({ ticks })), {
    messageId: `batch:${symbol}:${ticks.length}`,
    headers: { 'x-published-at': Date.now() },
  });
}

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology });
});
afterAll(async () => {
  await provider?.close();
  await testRun?.close();
});

describe('store worker on messages carrying several ticks', () => {
  it(
    'when batched and single-tick messages carry the same ticks, some twice, then every tick is stored exactly ' +
      'once',
    async () => {
      const aapl = makeTicks('AAPL', 1200);
      for (let i = 0; i < aapl.length; i += 300) await publishBatchMessage(aapl.slice(i, i + 300));
      await publishBatchMessage(aapl.slice(100, 700));
      await publishTicks(publisher, topology.pricesExchange, aapl.slice(1100));
      const duplicates = async () =>
        (await provider.metrics.getSingleMetric('provider_ticks_duplicate_total')!.get()).values[0]?.value ?? 0;
      await waitFor(async () => (await duplicates()) >= 700, 20_000, 'the repeated ticks processed');
      expect(await count(`symbol = 'AAPL'`)).toBe(1200);
      const prices = await admin.unsafe(
        `SELECT price FROM "${db.schema}".ticks WHERE symbol = 'AAPL' ORDER BY "timestamp"`,
      );
      expect(prices.map((r) => r.price)).toEqual(aapl.map((t) => t.price));
    },
  );

  it(
    'when a batched message holds an invalid tick, then the whole message goes to the dead-letter queue with ' +
      'the tick named, and other messages are stored',
    async () => {
      const good = makeTicks('MSFT', 3);
      await publishBatchMessage([good[0]!, { ...good[1]!, price: -1 }, good[2]!]);
      await publishBatchMessage([], 'MSFT');
      await publishBatchMessage(makeTicks('NVDA', 4));
      const reasons = await deadLetterReasons(`${topology.storeQueue}.dlq`, 2);
      expect(reasons.find((r) => r.includes('/ticks/1/price'))).toMatch(/^invalid tick: /);
      expect(reasons.find((r) => !r.includes('/ticks/1/price'))).toMatch(/^invalid tick: \/ticks /);
      await waitFor(async () => (await count(`symbol = 'NVDA'`)) === 4, 10_000, 'NVDA stored');
      expect(await count(`symbol = 'MSFT'`)).toBe(0);
    },
  );

  it(
    'when the database refuses one tick of a batched message, then its other ticks and the other messages are ' +
      'stored and the message is dead-lettered with the reason',
    async () => {
      const ticks = makeTicks('TSLA', 3);
      // Year 0 passes the wire schema but PostgreSQL has no year 0: a data error (class 22).
      await publishBatchMessage([ticks[0]!, { ...ticks[1]!, timestamp: '0000-01-01T00:00:00.000Z' }, ticks[2]!]);
      await publishBatchMessage(makeTicks('AMZN', 5));
      const [reason] = await deadLetterReasons(`${topology.storeQueue}.dlq`, 1);
      expect(reason).toMatch(/^rejected by the database: .*out of range/);
      await waitFor(async () => (await count(`symbol = 'AMZN'`)) === 5, 10_000, 'AMZN stored');
      expect(await count(`symbol = 'TSLA'`)).toBe(2);
    },
  );
});
