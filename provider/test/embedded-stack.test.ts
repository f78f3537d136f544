import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryBroker, type MessageBus } from '@lizards/lib';
import { openEmbeddedPriceStore } from '../src/store/embedded-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import { runId, testTopology } from './support/backends.js';
import { startProvider, TestClient, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

// Nothing but Node.js: PGlite behind pglite-socket for the store, the in-process broker for the bus.
const topology = testTopology(runId());
const broker = new MemoryBroker();
let store: PriceStore;
let publisher: MessageBus;
let provider: ProviderHarness;

beforeAll(async () => {
  store = await openEmbeddedPriceStore({ schema: 'public' });
  publisher = broker.connect();
  provider = await startProvider({ schema: 'public', databaseUrl: '', topology, store, bus: broker.connect() });
});
afterAll(async () => {
  await provider?.close();
  await store?.close();
  await publisher?.close();
});

describe('embedded store and bus', () => {
  it(
    'when ticks are published, then they are stored once, pushed after a snapshot, resumable, and served over ' +
      'REST',
    async () => {
      const first = makeTicks('AAPL', 3);
      await publishTicks(publisher, topology.pricesExchange, [...first, ...first]);
      await waitFor(async () => (await store.repository.maxSeq()) !== '0', 10_000, 'first ticks stored');
      await waitFor(
        async () => (await store.repository.ticksAfter({ after: '0', limit: 10 })).length === 3,
        10_000,
        'three ticks',
      );

      const c = new TestClient(provider.wsUrl);
      await c.open();
      c.send({ type: 'subscribe', symbols: ['AAPL', 'XYZ'] });
      await c.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);
      expect(c.raw).toContain('{"type":"error","message":"Invalid stock symbol: XYZ"}');
      await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 4, { startIndex: 3 }));
      await waitFor(() => c.liveTicks().length === 4, 10_000, 'live ticks');
      const cursor = c.liveTicks()[1]!.cursor;
      c.close();

      const resumed = new TestClient(provider.wsUrl);
      await resumed.open();
      resumed.send({ type: 'subscribe', symbols: ['AAPL'], since: cursor });
      await waitFor(() => resumed.liveTicks().length === 2, 10_000, 'resumed ticks');
      expect(resumed.liveTicks().map((t) => t.entry.timestamp)).toEqual(
        c
          .liveTicks()
          .slice(2)
          .map((t) => t.entry.timestamp),
      );
      resumed.close();

      const history = await provider.app.inject(
        `/prices/AAPL/history?from=2024-09-14T12:00:00Z&to=2024-09-14T13:00:00Z`,
      );
      expect(history.json().prices).toHaveLength(7);
      const candles = await provider.app.inject(
        `/prices/AAPL/candles?interval=1m&from=2024-09-14T12:00:00Z&to=2024-09-14T13:00:00Z`,
      );
      expect(candles.json().candles).toHaveLength(1);
      expect((await provider.app.admin.inject('/ready')).statusCode).toBe(200);
    },
  );
});
