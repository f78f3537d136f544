import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectAcceptedStoredAndSeen } from './support/data-check.js';
import { Stack } from '../src/stack.js';
import { waitFor } from '@lizards/testkit';

const OUTAGE_MS = 20_000;

// Scenario: PostgreSQL unreachable for 20 s behind two providers while clients watch through the gateway.
describe('live prices through a 20 s PostgreSQL outage', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.start({ providers: 2, providerEnv: { STORE_PREFETCH: '50' } });
  }, 90_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('when the database is away, then subscribers of both providers keep getting every price within a second ' +
    '(provisional), and after it everything is stored once, confirmed, and a client that was away resumes ' +
    'exactly', async () => {
    const watchers = [];
    for (let i = 0; i < 4; i++) watchers.push(await stack.connectClient());
    const away = await stack.connectClient();
    stack.feeder.start(10, 40);
    await stack.feeder.acceptedAtLeast(200, 'load to flow');

    await stack.pgProxy.cut();
    const cutAt = Date.now();
    await waitFor(
      async () => (await stack.providers[0]!.status('/ready')) === 503,
      10_000,
      'the providers to report the database down',
    );
    await stack.feeder.acceptedAtLeast(stack.feeder.accepted.size + 100, 'ticks accepted during the outage');
    away.close();
    await new Promise((r) => setTimeout(r, Math.max(0, OUTAGE_MS - (Date.now() - cutAt))));
    const restoredAt = Date.now();
    await stack.pgProxy.restore();

    // Every tick accepted during the outage reached every watcher within a second, while the database was still away.
    const duringOutage = [...stack.feeder.acceptedAt].filter(([, at]) => at >= cutAt && at <= restoredAt - 1000);
    expect(duringOutage.length).toBeGreaterThan(500);
    for (const w of watchers) {
      const late = duringOutage
        .map(([key, at]) => ({ key, delay: (w.firstSeenAt.get(key) ?? Infinity) - at }))
        .filter((d) => d.delay >= 1000);
      expect(late.slice(0, 5)).toEqual([]);
    }

    for (const p of stack.providers)
      await waitFor(
        async () => (await p.status('/ready')) === 200,
        30_000,
        'the providers to reach the database again',
      );
    await away.connect();
    await stack.feeder.acceptedAtLeast(stack.feeder.accepted.size + 200, 'load after the outage');
    await stack.feeder.stop();

    await expectAcceptedStoredAndSeen(stack, stack.clients);
    for (const w of watchers) expect(duringOutage.filter(([key]) => !w.provisional.has(key))).toEqual([]);
    expect(stack.providers.every((p) => p.alive)).toBe(true);
    expect(stack.leakedSecrets()).toEqual([]);
  }, 180_000);
});
