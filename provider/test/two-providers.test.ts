import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { createTestSchema, deleteTopology, runId, testTopology } from './support/backends.js';
import { connectBus, startProvider, TestClient, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
const SYMBOLS = ['AAPL', 'TSLA', 'MSFT', 'GOOG'];
let db: Awaited<ReturnType<typeof createTestSchema>>;
let admin: postgres.Sql;
let publisher: RabbitBus;
let a: ProviderHarness;
let b: ProviderHarness;

const stored = async (symbols: string[]) =>
  (
    await admin.unsafe(`SELECT symbol, "timestamp" FROM "${db.schema}".ticks WHERE symbol = ANY($1) ORDER BY seq`, [
      symbols,
    ])
  ).map((r) => `${r.symbol}@${(r.timestamp as Date).toISOString().replace('.000Z', 'Z')}`);
const received = (c: TestClient) => c.liveTicks().map((t) => `${t.symbol}@${t.entry.timestamp}`);
const storedBy = async (p: ProviderHarness) =>
  (await p.metrics.getSingleMetric('provider_ticks_stored_total')!.get()).values[0]?.value ?? 0;

beforeAll(async () => {
  db = await createTestSchema(run);
  admin = postgres(db.url, { max: 2, onnotice: () => {} });
  publisher = await connectBus();
  // Small batches so both workers take part; both start (and migrate) at the same time.
  const start = () =>
    startProvider({
      schema: db.schema,
      databaseUrl: db.url,
      topology,
      workerOptions: { prefetch: 40, batchSize: 20, batchWaitMs: 5 },
    });
  [a, b] = await Promise.all([start(), start()]);
  await publishTicks(
    publisher,
    topology.pricesExchange,
    SYMBOLS.flatMap((s) => makeTicks(s, 1)),
  );
  await waitFor(async () => (await stored(SYMBOLS)).length === 4, 10_000, 'symbols stored');
});
afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  await publisher?.close();
  await admin?.end();
  await db?.drop();
  await deleteTopology(topology);
});

describe('two provider instances on one queue', () => {
  it(
    'stores every tick once, and a client on either instance receives every update for its symbols in commit ' +
      'order',
    async () => {
      const onA = new TestClient(a.wsUrl);
      const onB = new TestClient(b.wsUrl);
      await Promise.all([onA.open(), onB.open()]);
      onA.send({ type: 'subscribe', symbols: ['AAPL', 'TSLA'] });
      onB.send({ type: 'subscribe', symbols: ['AAPL', 'MSFT', 'GOOG'] });
      await Promise.all([
        onA.waitForMessage((m) => m.type === 'subscribed'),
        onB.waitForMessage((m) => m.type === 'subscribed'),
      ]);
      const since = await a.store.repository.maxSeq();

      const ticks = SYMBOLS.flatMap((s) => makeTicks(s, 500, { startIndex: 1 }));
      await publishTicks(publisher, topology.pricesExchange, ticks);
      await publishTicks(publisher, topology.pricesExchange, ticks.slice(0, 400)); // redelivered duplicates
      await waitFor(async () => (await stored(SYMBOLS)).length === 4 + 2000, 30_000, 'all ticks stored');
      const [counted] = await admin.unsafe(
        `SELECT count(*)::int AS n, count(DISTINCT (symbol, source, "timestamp"))::int AS d FROM "${db.schema}".ticks`,
      );
      expect(counted).toEqual({ n: 2004, d: 2004 });
      expect(await storedBy(a)).toBeGreaterThan(0);
      expect(await storedBy(b)).toBeGreaterThan(0);

      const wantA = (await stored(['AAPL', 'TSLA'])).slice(2);
      const wantB = (await stored(['AAPL', 'MSFT', 'GOOG'])).slice(3);
      await waitFor(
        () => onA.liveTicks().length >= 1000 && onB.liveTicks().length >= 1500,
        20_000,
        'every update at both clients',
      );
      expect(received(onA)).toEqual(wantA);
      expect(received(onB)).toEqual(wantB);

      // A client that moves to the other instance resumes there without gap or repeat.
      const moved = new TestClient(b.wsUrl);
      await moved.open();
      moved.send({ type: 'subscribe', symbols: ['AAPL', 'TSLA'], since });
      await waitFor(() => moved.liveTicks().length >= 1000, 10_000, 'resumed on the other instance');
      expect(received(moved)).toEqual(wantA);
      for (const c of [onA, onB, moved]) c.close();
    },
  );
});
