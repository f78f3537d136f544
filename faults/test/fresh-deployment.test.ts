import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { Stack, queueDepth } from '../src/stack.js';

// Scenario: a fresh deployment (no exchange, no queue yet) where ingestion comes up first and takes prices for
// 30 s before any provider exists.
describe('a fresh deployment, ingestion first', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ providers: 0 });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when ingestion runs alone for 30 s with ticks flowing and a provider starts after, then every accepted ' +
    'tick is stored once and clients see every later one', async () => {
    stack.feeder.start(10, 40);
    // The scenario is the time itself: 30 s in which nothing but ingestion exists to route the ticks to.
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    const acceptedAlone = stack.feeder.accepted.size;
    expect(acceptedAlone).toBeGreaterThan(500);
    // The store queue exists and holds the ticks: ingestion declared it, no provider has run yet.
    expect(await queueDepth(stack.topology.store)).toBeGreaterThan(0);

    await stack.startProvider();
    await stack.feeder.acceptedAtLeast(acceptedAlone + 200, 'load after the provider started');
    await stack.feeder.stop();
    await stack.seed();
    for (let i = 0; i < 2; i++) await stack.connectClient();
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(stack.feeder.accepted.size + 200, 'load with clients subscribed');
    await stack.feeder.stop();

    await expectAcceptedStoredAndSeen(stack, stack.clients);
    expect(stack.all.every((p) => p.alive)).toBe(true);
  }, 150_000);
});
