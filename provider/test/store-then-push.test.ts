import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { lockTicks, runId, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider, TestClient, type PriceEntry, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
let testRun: TestRun;
let db: TestRun['db'];
let admin: postgres.Sql;
let publisher: RabbitBus;
let provider: ProviderHarness;
const SYMBOLS = ['AAPL', 'TSLA', 'MSFT'];

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology });
  await publishTicks(
    publisher,
    topology.pricesExchange,
    SYMBOLS.flatMap((s) => makeTicks(s, 1)),
  );
  await waitFor(
    async () => (await provider.store.repository.knownSymbols(SYMBOLS)).size === 3,
    10_000,
    'symbols stored',
  );
});
afterAll(async () => {
  await provider?.close();
  await testRun?.close();
});

describe('store, then push', () => {
  it('when the commit is held back, then nothing is pushed until it is committed', async () => {
    const c = new TestClient(provider.wsUrl);
    await c.open();
    try {
      c.send({ type: 'subscribe', symbols: ['AAPL'] });
      await c.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);
      const lock = await lockTicks(db.url, db.schema, 'EXCLUSIVE');
      try {
        await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 5, { startIndex: 1 }));
        await waitFor(
          async () =>
            (
              await admin`SELECT 1 FROM pg_stat_activity
                WHERE application_name = 'lizards-provider-writer' AND wait_event_type = 'Lock'`
            ).length > 0,
          10_000,
          'the batch waiting to be written',
        );
        // The live feed polls too (every second): give it a few chances to push something it must not.
        await provider.app.liveFeed.poke();
        await new Promise((r) => setTimeout(r, 1500));
        expect(c.liveTicks()).toEqual([]);
      } finally {
        await lock.release();
      }
      await waitFor(() => c.liveTicks().length === 5, 10_000, 'the five ticks after the commit');
    } finally {
      c.close();
    }
  });

  it('when ticks flow, then every pushed price is already in PostgreSQL with the pushed cursor', async () => {
    const c = new TestClient(provider.wsUrl);
    await c.open();
    const checks: Promise<void>[] = [];
    const missing: string[] = [];
    // Check each update the moment it arrives, before later commits could change the picture.
    c.socket.on('message', (data) => {
      const m = JSON.parse(data.toString()) as {
        type: string;
        snapshot?: boolean;
        cursor?: string;
        data?: Record<string, PriceEntry>;
      };
      if (m.type !== 'price_update' || m.snapshot) return;
      for (const [symbol, e] of Object.entries(m.data!)) {
        checks.push(
          admin
            .unsafe(
              `SELECT seq::text FROM "${db.schema}".ticks
                WHERE symbol = $1 AND "timestamp" = $2 AND price = $3 AND source = $4`,
              [symbol, e.timestamp, e.price, e.source!],
            )
            .then((rows) => {
              if (rows.length !== 1 || BigInt(rows[0]!.seq) > BigInt(m.cursor!))
                missing.push(`${symbol}@${e.timestamp}`);
            }),
        );
      }
    });
    try {
      c.send({ type: 'subscribe', symbols: SYMBOLS });
      await c.waitForMessage((m) => m.type === 'subscribed');
      await publishTicks(
        publisher,
        topology.pricesExchange,
        SYMBOLS.flatMap((s) => makeTicks(s, 200, { startIndex: 10 })),
      );
      await waitFor(() => c.liveTicks().length === 600, 20_000, '600 live ticks');
      await Promise.all(checks);
      expect(checks.length).toBe(600);
      expect(missing).toEqual([]);
    } finally {
      c.close();
    }
  });
});
