import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { storeTopology } from '@lizards/lib';
import { providerProcessEnv, TEST_AMQP_URL } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { deleteRabbitObjects, startService, waitFor, type ServiceProcess } from '@lizards/testkit';

// Runs the built output: `npx tsc -b` first. Node 20 ends a process on an unhandled rejection, so this runs the
// provider as its own process: a rejection nobody handles shows as the process exiting.
const root = fileURLToPath(new URL('../../', import.meta.url));
const providerServer = `${root}provider/dist/server.js`;
let testRun: TestRun;
let provider: ServiceProcess | undefined;

const stored = async () =>
  Number((await testRun.admin.unsafe(`SELECT count(*)::int AS n FROM "${testRun.db.schema}".ticks`))[0]!.n);

beforeAll(async () => {
  testRun = await openTestRun();
});
afterAll(async () => {
  if (provider?.child.exitCode === null) provider.child.kill('SIGKILL');
  await testRun?.close();
});

describe('the provider process when dead-lettering fails', () => {
  it(
    'when the database refuses a tick and its dead-letter exchange is gone, then the provider stays up and ' +
      'goes on storing',
    async () => {
      expect(existsSync(providerServer), 'run `npx tsc -b` first').toBe(true);
      const { db, topology, publisher } = testRun;
      provider = startService('provider', providerServer, root, {
        ...providerProcessEnv(db, topology),
        REGISTRY_URL: 'http://127.0.0.1:9',
        HEARTBEAT_INTERVAL_MS: '60000',
        SESSION_SECRET: 'dead-letter-test-secret-0123456789',
      });
      const exited = () =>
        provider!.child.exitCode === null
          ? undefined
          : `the provider exited (${provider!.child.exitCode}): ${provider!.stderr()}`;
      await waitFor(
        () => provider!.lines.find((l) => l.msg === 'provider ready'),
        20_000,
        'provider ready',
        50,
        exited,
      );
      // As ingestion does, the publisher declares the store queue too: "ready" does not wait for the provider's bus,
      // and
      // a
      // tick published before anyone bound the queue would be unroutable.
      await publisher.declare(
        storeTopology({
          exchange: topology.pricesExchange,
          queue: topology.storeQueue,
          queueType: topology.storeQueueType,
          deliveryLimit: topology.storeDeliveryLimit,
        }),
      );
      await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 10));
      await waitFor(async () => (await stored()) === 10, 10_000, 'the first ticks stored', 50, exited);

      // An operator deleted the dead-letter exchange: publishing a dead letter now fails (404 closes the channel).
      await deleteRabbitObjects(TEST_AMQP_URL, { queues: [], exchanges: [`${topology.storeQueue}.dlx`] });
      // Year 0 passes the wire schema, but PostgreSQL has no year 0: the database refuses it (a data error).
      await publishTicks(publisher, topology.pricesExchange, [
        { ...makeTicks('TSLA', 1)[0]!, timestamp: '0000-01-01T00:00:00.000Z' },
      ]);
      await waitFor(
        () => provider!.lines.some((l) => l.msg === 'tick dead-lettered'),
        10_000,
        'the refused tick to be dead-lettered',
        50,
        exited,
      );

      await publishTicks(publisher, topology.pricesExchange, makeTicks('MSFT', 10));
      await waitFor(async () => (await stored()) === 20, 10_000, 'ticks after the refused one stored', 50, exited);
      expect(provider.child.exitCode).toBeNull();
      expect(provider.stderr()).not.toMatch(/unhandled|Unhandled/);
    },
  );
});
