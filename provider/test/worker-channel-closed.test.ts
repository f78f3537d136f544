import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { proxiedDatabase, queueDepth, TEST_AMQP_URL } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider } from './support/provider-harness.js';
import { closeByBroker, deleteRabbitObjects, recordChannels, waitFor, type TcpProxy } from '@lizards/testkit';
import { makeTicks, publishTicks } from './support/ticks.js';

const recorder = recordChannels();
let testRun: TestRun;
let database: { proxy: TcpProxy; url: string };

const count = async (what = '*', where = 'true') =>
  Number(
    (await testRun.admin.unsafe(`SELECT count(${what})::int AS n FROM "${testRun.db.schema}".ticks WHERE ${where}`))[0]!
      .n,
  );
const stored = () => count();

beforeAll(async () => {
  testRun = await openTestRun();
  database = await proxiedDatabase(testRun.db.url);
});
afterAll(async () => {
  recorder.stop();
  await database?.proxy.stop();
  await testRun?.close();
});

// consumer_timeout (30 min by default) closes the channel of a worker that holds a batch unacked through a long
// PostgreSQL outage, with 406 PRECONDITION_FAILED, and leaves the connection up. RabbitMQ 3.10 has no per-queue
// consumer timeout, and the shared broker's global one must not be shortened, so the test has the broker close the
// worker's channel with that same 406 (an ack of a delivery tag it never sent) while PostgreSQL is cut.
describe('the store worker when the broker closes its channel during a PostgreSQL outage', () => {
  it('when the worker channel is closed while it holds a batch, then it consumes again on a new channel and, ' +
    'once PostgreSQL is back, every tick is stored once', async () => {
    const { db, topology, publisher } = testRun;
    const { proxy } = database;
    const provider = await startProvider({
      schema: db.schema,
      databaseUrl: database.url,
      topology,
      workerOptions: { prefetch: 50, batchSize: 50 },
    });
    try {
      await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 100));
      await waitFor(async () => (await stored()) === 100, 10_000, 'the first ticks stored');

      await proxy.cut();
      await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 300, { startIndex: 100 }));
      const errors = async () =>
        (await provider.metrics.getSingleMetric('provider_store_errors_total')!.get()).values[0]?.value ?? 0;
      await waitFor(async () => (await errors()) >= 2, 15_000, 'the worker retrying its batch');
      const held = recorder.consuming(topology.storeQueue)!;
      await closeByBroker(held);
      await waitFor(
        () => recorder.consuming(topology.storeQueue) !== held,
        10_000,
        'the worker consuming on a new channel',
      );
      await proxy.restore();

      await waitFor(async () => (await stored()) === 400, 30_000, 'every tick stored after the outage');
      await publishTicks(publisher, topology.pricesExchange, makeTicks('MSFT', 100));
      await waitFor(async () => (await stored()) === 500, 15_000, 'ticks published after the outage stored');
      await waitFor(async () => (await queueDepth(topology.storeQueue)) === 0, 10_000, 'the store queue to be empty');
      await waitFor(async () => (await provider.app.admin.inject('/ready')).statusCode === 200, 10_000, 'ready again');
      expect(await count('DISTINCT (symbol, source, "timestamp")')).toBe(500);
    } finally {
      await provider.close();
    }
  }, 90_000);

  it('when the broker cancels the worker consumer (its queue deleted) during the outage, then the worker ' +
    'declares the queue again and stores what comes after', async () => {
    const { db, topology, publisher } = testRun;
    const { proxy } = database;
    const provider = await startProvider({
      schema: db.schema,
      databaseUrl: database.url,
      topology,
      workerOptions: { prefetch: 50, batchSize: 50 },
    });
    try {
      await proxy.cut();
      await publishTicks(publisher, topology.pricesExchange, makeTicks('TSLA', 100));
      const errors = async () =>
        (await provider.metrics.getSingleMetric('provider_store_errors_total')!.get()).values[0]?.value ?? 0;
      await waitFor(async () => (await errors()) >= 1, 15_000, 'the worker retrying its batch');
      const first = recorder.consuming(topology.storeQueue)!;
      // Deleting the queue deletes what it held too: an operator's act, not a loss this test counts.
      await deleteRabbitObjects(TEST_AMQP_URL, { queues: [topology.storeQueue], exchanges: [] });
      await waitFor(
        () => recorder.consuming(topology.storeQueue) !== first,
        10_000,
        'the worker consuming the declared-again queue',
      );
      await proxy.restore();

      await publishTicks(publisher, topology.pricesExchange, makeTicks('NVDA', 100));
      await waitFor(
        async () => (await count('*', "symbol = 'NVDA'")) === 100,
        30_000,
        'ticks published after the delete stored',
      );
      await waitFor(async () => (await queueDepth(topology.storeQueue)) === 0, 10_000, 'the store queue to be empty');
    } finally {
      await provider.close();
    }
  }, 90_000);
});
