import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

// Scenario 2: every RabbitMQ connection (ingestion's, the provider's worker and hub) dropped while ticks flow.
describe('RabbitMQ connections cut during ingestion', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ providers: 1 });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when the broker is away for a while, then ingestion keeps accepting into its outbox, republishes after, ' +
    'worker and hub reconnect, and nothing is lost or doubled', async () => {
    for (let i = 0; i < 2; i++) await stack.connectClient();
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(200, 'load to flow');

    await stack.amqpProxy.cut();
    await waitFor(
      async () => (await stack.ingestion.status('/ready')) === 503,
      10_000,
      'ingestion to report the bus down',
    );
    const acceptedAtCut = stack.feeder.accepted.size;
    await stack.feeder.acceptedAtLeast(acceptedAtCut + 100, 'ticks accepted while the broker is away');
    await stack.amqpProxy.restore();

    await waitFor(async () => (await stack.ingestion.status('/ready')) === 200, 30_000, 'ingestion to reconnect');
    await waitFor(
      async () => (await stack.providers[0]!.status('/ready')) === 200,
      30_000,
      'the provider to reconnect',
    );
    const acceptedAtRestore = stack.feeder.accepted.size;
    await stack.feeder.acceptedAtLeast(acceptedAtRestore + 200, 'load after the outage');
    await stack.feeder.stop();

    await expectAcceptedStoredAndSeen(stack, stack.clients);
    expect(stack.all.every((p) => p.alive)).toBe(true);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 150_000);
});
