import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { waitFor } from '@lizards/testkit';
import { PriceSubscription, type AlertInfo, type AlertTriggered } from '../src/index.js';
import { createTestSchema, deleteTopology, runId, testTopology } from '../../provider/test/support/backends.js';
import { connectBus, startProvider, type ProviderHarness } from '../../provider/test/support/provider-harness.js';
import { makeTicks, publishTicks, type TestTick } from '../../provider/test/support/ticks.js';

// The client library against a real provider (PostgreSQL, RabbitMQ): an alert set through the subscription survives a
// lost connection, and a price stored while the client was away fires it on the reconnect.

const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
let publisher: Awaited<ReturnType<typeof connectBus>>;
let provider: ProviderHarness;
let next = 500;

const priced = (symbol: string, ...prices: number[]): TestTick[] =>
  prices.map((price) => {
    const timestamp = new Date(Date.parse('2024-09-14T12:00:00Z') + next++ * 1000).toISOString();
    return { symbol, price, timestamp, source: 'simulated' };
  });
const store = async (ticks: TestTick[]) => {
  const before = BigInt(await provider.store.repository.maxSeq());
  await publishTicks(publisher, topology.pricesExchange, ticks);
  const stored = async () => BigInt(await provider.store.repository.maxSeq()) >= before + BigInt(ticks.length);
  await waitFor(stored, 10_000, 'ticks stored');
};

beforeAll(async () => {
  db = await createTestSchema(run);
  publisher = await connectBus();
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology });
  await publishTicks(
    publisher,
    topology.pricesExchange,
    ['AAPL', 'MSFT'].flatMap((s) => makeTicks(s, 1)),
  );
  const known = async () => (await provider.store.repository.knownSymbols(['AAPL', 'MSFT'])).size === 2;
  await waitFor(known, 10_000, 'symbols stored');
});
afterAll(async () => {
  await provider?.close();
  await publisher?.close();
  await db?.drop();
  await deleteTopology(topology);
});

describe('PriceSubscription.alert against a provider', () => {
  it(
    'when the connection is lost and a stored price crosses the alert meanwhile, then alert_triggered comes ' +
      'once after the reconnect',
    async () => {
      // The reconnect waits at this gate, so the crossing price is surely stored while the client is away.
      let openGate = () => {};
      let gate: Promise<void> = Promise.resolve();
      const sub = new PriceSubscription(['MSFT'], {
        openSession: async () => {
          await gate;
          return provider.wsUrl;
        },
        WebSocket: WebSocket as never,
        backoff: { initialMs: 50, maxMs: 100 },
      });
      const set: AlertInfo[] = [];
      const triggered: AlertTriggered[] = [];
      sub.on('alert_set', (a) => set.push(a));
      sub.on('alert_triggered', (a) => triggered.push(a));
      try {
        await new Promise((resolve) => sub.once('subscribed', resolve));
        // AAPL is not subscribed: the alert needs no subscription.
        sub.alert({ id: 'dip', symbol: 'AAPL', below: 50 });
        sub.alert({ id: 'spike', symbol: 'AAPL', above: 1000 });
        await waitFor(() => set.length === 2, 10_000, 'both alerts set');
        await store(priced('AAPL', 120, 110));

        gate = new Promise((resolve) => (openGate = resolve));
        for (const socket of provider.app.websocketServer.clients) socket.terminate();
        await waitFor(() => (sub.state === 'reconnecting' ? true : undefined), 10_000, 'the connection lost');
        const missed = priced('AAPL', 60, 45, 40);
        await store(missed);
        openGate();

        await waitFor(() => triggered.length === 1, 10_000, 'the missed crossing');
        const timestamp = missed[1]!.timestamp.replace('.000Z', 'Z');
        expect(triggered[0]).toMatchObject({
          id: 'dip',
          symbol: 'AAPL',
          price: 45,
          condition: { below: 50 },
          timestamp,
        });
        expect(sub.reconnects).toBe(1);
        expect(sub.alerts.map((a) => a.id)).toEqual(['spike']);

        // The other one is still set on the new socket, and fires live.
        await waitFor(() => set.filter((a) => a.id === 'spike').length === 2, 10_000, 'spike set again');
        const live = priced('AAPL', 1500);
        await store(live);
        await waitFor(() => triggered.length === 2, 10_000, 'the live crossing');
        expect(triggered[1]).toMatchObject({ id: 'spike', price: 1500 });
        await store(priced('AAPL', 30, 2000));
        await store(priced('MSFT', 1));
        const last = BigInt(await provider.store.repository.maxSeq());
        const caughtUp = () => (sub.cursor !== undefined && BigInt(sub.cursor) >= last ? true : undefined);
        await waitFor(caughtUp, 10_000, 'the last MSFT tick');
        expect(triggered).toHaveLength(2);
      } finally {
        openGate();
        sub.close();
      }
    },
  );
});
