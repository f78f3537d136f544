import type { Socket } from 'node:net';
import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { runId, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider, TestClient, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
const SYMBOLS = ['AAPL', 'TSLA', 'MSFT', 'GOOG', 'AMZN'];
const BOUND = 16_384;
let testRun: TestRun;
let db: TestRun['db'];
let publisher: RabbitBus;
let admin: postgres.Sql;
let provider: ProviderHarness;

const metric = async (name: string, labels: Record<string, string> = {}) => {
  const values = (await provider.metrics.getSingleMetric(name)!.get()).values;
  return values
    .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
    .reduce((s, v) => s + v.value, 0);
};

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
  provider = await startProvider({
    schema: db.schema,
    databaseUrl: db.url,
    topology,
    ws: { sendBufferBytes: BOUND, slowClientTimeoutMs: 2000 },
  });
  await publishTicks(
    publisher,
    topology.pricesExchange,
    SYMBOLS.flatMap((s) => makeTicks(s, 1)),
  );
  await waitFor(
    async () => (await provider.store.repository.knownSymbols(SYMBOLS)).size === SYMBOLS.length,
    10_000,
    'symbols stored',
  );
});
afterAll(async () => {
  await provider?.close();
  await testRun?.close();
});

describe('slow consumer', () => {
  it(
    'when one client never reads, then a normal client still gets every update, the slow one is conflated then ' +
      'cut off, and buffers stay bounded',
    async () => {
      const slow = new TestClient(provider.wsUrl);
      const normal = new TestClient(provider.wsUrl);
      await Promise.all([slow.open(), normal.open()]);
      for (const c of [slow, normal]) {
        c.send({ type: 'subscribe', symbols: SYMBOLS });
        await c.waitForMessage((m) => m.type === 'subscribed');
      }
      // Stop reading: the kernel buffers fill, then the server-side socket buffer.
      (slow.socket as unknown as { _socket: Socket })._socket.pause();

      let maxBuffered = 0;
      const sampler = setInterval(() => (maxBuffered = Math.max(maxBuffered, provider.app.hub.maxBufferedAmount)), 5);
      // Several megabytes per client are needed to get past the kernel's socket buffers; written
      // straight into the store (the live feed reads committed ticks from there) to keep the test quick,
      // into the day partition made first as the worker would.
      const perSymbol = 20_000;
      try {
        await admin.unsafe(`SELECT "${db.schema}".ensure_tick_partition('2024-09-15')`);
        await admin.unsafe(
          `INSERT INTO "${db.schema}".ticks (symbol, source, "timestamp", price, volume)
         SELECT s.symbol, 'simulated', TIMESTAMPTZ '2024-09-15T00:00:00Z' + make_interval(secs => i),
                100 + i / 1000.0, i
           FROM unnest($1::text[]) AS s(symbol), generate_series(1, $2) AS i
          ORDER BY s.symbol, i`,
          [SYMBOLS, perSymbol],
        );
        await provider.app.liveFeed.poke();
        await waitFor(
          () => normal.liveTicks().length === SYMBOLS.length * perSymbol,
          60_000,
          'every tick at the normal client',
        );
        await waitFor(
          async () => (await metric('provider_ws_conflated_total')) > 0,
          20_000,
          'conflation for the slow client',
        );
        await waitFor(
          async () => (await metric('provider_ws_dropped_clients_total', { reason: 'slow_consumer' })) === 1,
          20_000,
          'slow client cut off',
        );
      } finally {
        clearInterval(sampler);
      }
      // At most the bound plus one message (a few hundred bytes) ever waits in a socket.
      expect(maxBuffered).toBeLessThan(BOUND + 2048);
      expect(normal.closeCode).toBeUndefined();
      expect(provider.app.hub.connectionCount).toBe(1);
      const seen = normal.liveTicks().map((t) => BigInt(t.cursor));
      expect(seen).toEqual([...seen].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      normal.close();
      slow.close();
    },
  );

  it(
    'when a congested client reads again before its deadline, then it gets the latest price of each symbol ' +
      '(conflated)',
    async () => {
      const patient = await startProvider({
        schema: db.schema,
        databaseUrl: db.url,
        topology,
        worker: false,
        ws: { sendBufferBytes: BOUND, slowClientTimeoutMs: 120_000 },
      });
      try {
        const c = new TestClient(patient.wsUrl);
        await c.open();
        c.send({ type: 'subscribe', symbols: SYMBOLS });
        await c.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);
        const raw = (c.socket as unknown as { _socket: Socket })._socket;
        raw.pause();
        await admin.unsafe(`SELECT "${db.schema}".ensure_tick_partition('2024-09-16')`);
        await admin.unsafe(
          `INSERT INTO "${db.schema}".ticks (symbol, source, "timestamp", price, volume)
         SELECT s.symbol, 'simulated', TIMESTAMPTZ '2024-09-16T00:00:00Z' + make_interval(secs => i),
                200 + i / 1000.0, i
           FROM unnest($1::text[]) AS s(symbol), generate_series(1, 20000) AS i
          ORDER BY s.symbol, i`,
          [SYMBOLS],
        );
        await patient.app.liveFeed.poke();
        const conflated = async () =>
          (await patient.metrics.getSingleMetric('provider_ws_conflated_total')!.get()).values[0]?.value ?? 0;
        await waitFor(async () => (await conflated()) > 0, 20_000, 'conflation');
        raw.resume();
        const latest = await patient.store.repository.latest(SYMBOLS);
        const want = Object.fromEntries(latest.map((t) => [t.symbol, t.price]));
        const lastSeen = () => Object.fromEntries(c.liveTicks().map((t) => [t.symbol, t.entry.price]));
        await waitFor(
          () => SYMBOLS.every((s) => lastSeen()[s] === want[s]),
          20_000,
          'latest prices after the congestion',
        );
        expect(c.liveTicks().length).toBeLessThan(SYMBOLS.length * 20_000);
        expect(c.closeCode).toBeUndefined();
        c.close();
      } finally {
        await patient.close();
      }
    },
  );
});
