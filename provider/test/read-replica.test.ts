import { TcpProxy } from '@lizards/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresPriceStore } from '../src/store/postgres-price-store.js';
import type { PriceStore } from '../src/store/price-repository.js';
import { createTestSchema, deleteTopology, runId, TEST_DATABASE_URL, testTopology } from './support/backends.js';
import { startProvider, type ProviderHarness } from './support/provider-harness.js';

// The primary and the "replica" are the same server reached through two proxies: cutting one shows which reads
// depend on it. A read sent to the wrong connection fails while its proxy is cut.
const run = runId();
const topology = testTopology(run);
const server = new URL(TEST_DATABASE_URL);
const primary = new TcpProxy(server.hostname, Number(server.port || 5432));
const replica = new TcpProxy(server.hostname, Number(server.port || 5432));
const through = (port: number) => Object.assign(new URL(TEST_DATABASE_URL), { port: String(port) }).href;
const t0 = Date.parse('2024-09-14T12:00:00.000Z');
let db: Awaited<ReturnType<typeof createTestSchema>>;
let store: PriceStore;
let provider: ProviderHarness;

beforeAll(async () => {
  db = await createTestSchema(run);
  store = await openPostgresPriceStore({
    url: through(await primary.start()),
    readUrl: through(await replica.start()),
    schema: db.schema,
    readPoolSize: 1,
  });
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology, worker: false, store });
  await store.writer.write(
    [0, 20, 40, 70].map((s, i) => ({
      symbol: 'AAPL',
      price: 100 + i,
      timestamp: new Date(t0 + s * 1000),
      source: 'simulated',
      volume: 1,
      publishedAt: null,
    })),
  );
});
afterAll(async () => {
  await provider?.close();
  await store?.close();
  await Promise.all([primary.stop(), replica.stop()]);
  await db?.drop();
  await deleteTopology(topology);
});

const range = `from=${new Date(t0).toISOString()}&to=${new Date(t0 + 120_000).toISOString()}`;
const historyReads = {
  'GET /symbols': '/symbols',
  'GET /prices/AAPL/history': `/prices/AAPL/history?${range}`,
  'GET /prices/AAPL/candles': `/prices/AAPL/candles?interval=1m&${range}`,
};
const status = async (url: string) => (await provider.app.inject({ method: 'GET', url })).statusCode;
/** The live side's reads, as the live feed (cursor), a resume and a snapshot make them. */
const liveReads = () =>
  [
    store.repository.maxSeq(),
    store.repository.ticksAfter({ after: '0', symbols: ['AAPL'], limit: 10 }),
    store.repository.latest(['AAPL']),
    store.repository.knownSymbols(['AAPL']),
  ] as const;

describe('DATABASE_READ_URL (a replica for the history side)', () => {
  it(
    'when the replica is unreachable, then history, candles and symbols fail while the live side and the ' +
      'latest price still answer',
    async () => {
      await replica.cut();
      try {
        for (const url of Object.values(historyReads)) expect(await status(url), url).toBe(503);
        await expect(store.history.knownSymbols(['AAPL'])).rejects.toThrow();
        const [maxSeq, resumed, latest, known] = await Promise.all(liveReads());
        expect(maxSeq).toBe(resumed.at(-1)!.seq);
        expect(resumed).toHaveLength(4);
        expect(latest.map((t) => t.price)).toEqual([103]);
        expect(known).toEqual(new Set(['AAPL']));
        expect(await status('/prices/AAPL')).toBe(200);
      } finally {
        await replica.restore();
      }
    },
  );

  it(
    'when the primary is unreachable, then history, candles and symbols still answer from the replica while ' +
      'the live side fails',
    async () => {
      await primary.cut();
      try {
        for (const url of Object.values(historyReads)) expect(await status(url), url).toBe(200);
        const history = (
          await provider.app.inject({ method: 'GET', url: historyReads['GET /prices/AAPL/history'] })
        ).json();
        expect(history.prices.map((p: { price: number }) => p.price)).toEqual([100, 101, 102, 103]);
        for (const read of liveReads()) await expect(read).rejects.toThrow();
        expect(await status('/prices/AAPL')).toBe(503);
      } finally {
        await primary.restore();
      }
    },
  );
});
