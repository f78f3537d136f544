import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadLetterReasonOf } from '@lizards/lib';
import { runId, TEST_AMQP_URL, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider, type ProviderHarness } from './support/provider-harness.js';
import { waitFor } from '@lizards/testkit';
import { makeTicks, tickMessage } from './support/ticks.js';

const run = runId();
const topology = { ...testTopology(run), storeDeliveryLimit: 3 };
let testRun: TestRun;
let provider: ProviderHarness;

beforeAll(async () => {
  testRun = await openTestRun(run);
  // Serving only: the test itself plays the consumers that die on the message.
  provider = await startProvider({ schema: testRun.db.schema, databaseUrl: testRun.db.url, topology, worker: false });
});
afterAll(async () => {
  await provider?.close();
  await testRun?.close();
});

describe('the store queue the provider declares', () => {
  it(
    'when a message kills every consumer that takes it, then after the delivery limit it is in the dead-letter ' +
      'queue with its reason, not redelivered forever',
    async () => {
      const poison = tickMessage(topology.pricesExchange, makeTicks('AAPL', 1)[0]!);
      await testRun.publisher.publishBatch([poison]);
      const conn = await amqp.connect(TEST_AMQP_URL);
      try {
        let deliveries = 0;
        // Each consumer takes the message and dies without settling it, as a provider would that crashes on it.
        const dlq = await conn.createChannel();
        const dead = await waitFor(
          async () => {
            const consumer = await conn.createChannel();
            const taken = new Promise<boolean>((resolve) => {
              void consumer.consume(topology.storeQueue, (m) => resolve(m !== null)).catch(() => resolve(false));
              setTimeout(() => resolve(false), 500);
            });
            if (await taken) deliveries++;
            await consumer.close().catch(() => undefined);
            return dlq.get(`${topology.storeQueue}.dlq`, { noAck: true });
          },
          20_000,
          'the message in the dead-letter queue',
          0,
        );
        expect(dead.content.toString()).toBe(poison.body.toString());
        expect(deadLetterReasonOf(dead.properties.headers ?? {})).toBe('delivery_limit');
        expect(deliveries).toBe(topology.storeDeliveryLimit + 1);
      } finally {
        await conn.close();
      }
    },
  );
});
