import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import { runId, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import { startProvider, TestClient } from './support/provider-harness.js';
import { TcpProxy, waitFor } from '@lizards/testkit';
import { makeTicks, publishTicks } from './support/ticks.js';

const run = runId();
const topology = testTopology(run);
let testRun: TestRun;
let db: TestRun['db'];
let admin: postgres.Sql;
let publisher: RabbitBus;
let proxy: TcpProxy;
let proxiedUrl: string;

const stored = async (symbol: string) =>
  Number((await admin.unsafe(`SELECT count(*)::int AS n FROM "${db.schema}".ticks WHERE symbol = $1`, [symbol]))[0]!.n);

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
  // The provider reaches PostgreSQL only through this proxy: cutting it is an outage for this test alone.
  proxy = new TcpProxy('127.0.0.1', 5432);
  const port = await proxy.start();
  proxiedUrl = db.url.replace('127.0.0.1:5432', `127.0.0.1:${port}`);
});
afterAll(async () => {
  await proxy?.stop();
  await testRun?.close();
});

describe('database outage', () => {
  it(
    'when PostgreSQL is unreachable, then the worker stops, acks nothing, reports not ready, and stores ' +
      'everything once it is back',
    async () => {
      const provider = await startProvider({ schema: db.schema, databaseUrl: proxiedUrl, topology });
      try {
        await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 50));
        await waitFor(async () => (await stored('AAPL')) === 50, 10_000, 'first ticks stored');
        const client = new TestClient(provider.wsUrl);
        await client.open();
        client.send({ type: 'subscribe', symbols: ['AAPL'] });
        await client.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);

        await proxy.cut();
        await publishTicks(publisher, topology.pricesExchange, makeTicks('AAPL', 300, { startIndex: 50 }));
        const errors = async () =>
          (await provider.metrics.getSingleMetric('provider_store_errors_total')!.get()).values[0]?.value ?? 0;
        await waitFor(async () => (await errors()) >= 2, 15_000, 'write retried');
        const ready = await provider.app.admin.inject('/ready');
        expect(ready.statusCode).toBe(503);
        expect(ready.json().checks.database).not.toBe('ok');
        expect(await stored('AAPL')).toBe(50);

        await proxy.restore();
        await waitFor(async () => (await stored('AAPL')) === 350, 20_000, 'backlog stored after the outage');
        await waitFor(
          async () => (await provider.app.admin.inject('/ready')).statusCode === 200,
          10_000,
          'ready again',
        );
        expect(await stored('AAPL')).toBe(350);
        // The subscribed client gets the backlog once it is committed, in order, each tick once.
        await waitFor(() => client.liveTicks().length >= 300, 10_000, 'backlog pushed');
        expect(client.liveTicks().map((t) => t.entry.timestamp)).toEqual(
          makeTicks('AAPL', 300, { startIndex: 50 }).map((t) => t.timestamp.replace('.000Z', 'Z')),
        );
        client.close();
      } finally {
        await provider.close();
      }
    },
  );

  it(
    'when PostgreSQL is unreachable, then REST reads answer 503 with Retry-After (not 500), and 200 once it is ' +
      'back',
    async () => {
      const provider = await startProvider({ schema: db.schema, databaseUrl: proxiedUrl, topology });
      const paths = ['/prices/AAPL', '/prices/AAPL/history?limit=5', '/prices/AAPL/candles?interval=1m', '/symbols'];
      let cut = false;
      try {
        await proxy.cut();
        cut = true;
        for (const url of paths) {
          const res = await provider.app.inject(url);
          expect(res.statusCode, url).toBe(503);
          expect(Number(res.headers['retry-after']), url).toBeGreaterThan(0);
          expect(res.json(), url).toMatchObject({
            error: 'Service Unavailable',
            code: 'LZ_ERR_PROVIDER_STORE_UNAVAILABLE',
          });
        }
        await proxy.restore();
        cut = false;
        await waitFor(
          async () => (await provider.app.inject(paths[0]!)).statusCode === 200,
          10_000,
          'reads to succeed again',
        );
      } finally {
        if (cut) await proxy.restore();
        await provider.close();
      }
    },
  );

  it(
    'when the provider stops during an outage, then the ' + 'unacked ticks wait in the queue for the next one',
    async () => {
      const first = await startProvider({ schema: db.schema, databaseUrl: proxiedUrl, topology });
      await proxy.cut();
      try {
        await publishTicks(publisher, topology.pricesExchange, makeTicks('MSFT', 120));
        const errors = async () =>
          (await first.metrics.getSingleMetric('provider_store_errors_total')!.get()).values[0]?.value ?? 0;
        await waitFor(async () => (await errors()) >= 1, 15_000, 'write failed');
      } finally {
        await first.close();
        await proxy.restore();
      }
      expect(await stored('MSFT')).toBe(0);
      const store = await openPostgresPriceStore({ url: db.url, schema: db.schema, readPoolSize: 1 });
      const second = await startProvider({ schema: db.schema, databaseUrl: db.url, topology, store });
      try {
        await waitFor(async () => (await stored('MSFT')) === 120, 15_000, 'all ticks stored by the next provider');
      } finally {
        await second.close();
        await store.close();
      }
    },
  );
});
