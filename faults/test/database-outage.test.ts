import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { Stack, queueDepth } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

// Scenario 3: PostgreSQL unreachable for 10 s (the provider's connections dropped, new ones refused).
describe('PostgreSQL unavailable for 10 s', () => {
  let stack: Stack;

  beforeAll(async () => {
    // A small prefetch so that unacked work shows as messages waiting in the queue.
    stack = await Stack.start({ providers: 1, providerEnv: { STORE_PREFETCH: '50' } });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when the database is away, then the worker stops acking (messages wait in the queue), resumes after, ' +
    'nothing is lost or doubled, and live push resumes', async () => {
    for (let i = 0; i < 2; i++) await stack.connectClient();
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(200, 'load to flow');

    await stack.pgProxy.cut();
    const cutAt = Date.now();
    const provider = stack.providers[0]!;
    await waitFor(
      async () => (await provider.status('/ready')) === 503,
      10_000,
      'the provider to report the database down',
    );
    await waitFor(
      async () => (await queueDepth(stack.topology.store)) > 100,
      15_000,
      'deliveries to wait unacked in the queue',
      250,
    );
    const storedDuringOutage = stack.feeder.accepted.size;
    await new Promise((r) => setTimeout(r, Math.max(0, 10_000 - (Date.now() - cutAt))));
    await stack.pgProxy.restore();

    await waitFor(
      async () => (await provider.status('/ready')) === 200,
      30_000,
      'the provider to reach the database again',
    );
    await stack.feeder.acceptedAtLeast(storedDuringOutage + 200, 'load after the outage');
    await stack.feeder.stop();

    await expectAcceptedStoredAndSeen(stack, stack.clients);
    await waitFor(async () => (await queueDepth(stack.topology.store)) === 0, 30_000, 'the queue to drain', 250);
    expect(provider.alive).toBe(true);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 150_000);
});
