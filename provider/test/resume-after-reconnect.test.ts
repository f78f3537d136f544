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
let testRun: TestRun;
let db: TestRun['db'];
let admin: postgres.Sql;
let publisher: RabbitBus;
let provider: ProviderHarness;

/** The stored ticks of `symbols` after `since`, in seq order, as "SYMBOL@timestamp". */
const storedAfter = async (symbols: string[], since: string) =>
  (
    await admin.unsafe(
      `SELECT symbol, "timestamp" FROM "${db.schema}".ticks WHERE symbol = ANY($1) AND seq > $2 ORDER BY seq`,
      [symbols, since],
    )
  ).map((r) => `${r.symbol}@${(r.timestamp as Date).toISOString().replace('.000Z', 'Z')}`);
const storedCount = async () =>
  Number((await admin.unsafe(`SELECT count(*)::int AS n FROM "${db.schema}".ticks`))[0]!.n);
const received = (c: TestClient) => c.liveTicks().map((t) => `${t.symbol}@${t.entry.timestamp}`);
const lastCursor = (c: TestClient) => c.liveTicks().at(-1)!.cursor;

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology });
  await publishTicks(
    publisher,
    topology.pricesExchange,
    ['AAPL', 'TSLA', 'MSFT'].flatMap((s) => makeTicks(s, 1)),
  );
  await waitFor(async () => (await storedCount()) === 3, 10_000, 'symbols stored');
});
afterAll(async () => {
  await provider?.close();
  await testRun?.close();
});

describe('subscribe with since', () => {
  it(
    'when a client reconnects with its last cursor, then it gets exactly the ticks it missed, in order, then ' +
      'live ones',
    async () => {
      const symbols = ['AAPL', 'TSLA'];
      const first = new TestClient(provider.wsUrl);
      await first.open();
      first.send({ type: 'subscribe', symbols });
      await first.waitForMessage((m) => m.type === 'subscribed');
      await publishTicks(
        publisher,
        topology.pricesExchange,
        symbols.flatMap((s) => makeTicks(s, 10, { startIndex: 1 })),
      );
      await waitFor(() => first.liveTicks().length === 20, 10_000, 'first live ticks');
      const cursor = lastCursor(first);
      first.close();
      await first.waitForClose();

      // Missed while away: interleaved symbols, plus one the client does not want.
      const missed = Array.from(
        { length: 30 },
        (_, i) => makeTicks(['AAPL', 'MSFT', 'TSLA'][i % 3]!, 1, { startIndex: 100 + i })[0]!,
      );
      await publishTicks(publisher, topology.pricesExchange, missed);
      await waitFor(async () => (await storedCount()) === 3 + 20 + 30, 10_000, 'missed ticks stored');

      const second = new TestClient(provider.wsUrl);
      await second.open();
      second.send({ type: 'subscribe', symbols, since: cursor });
      const expectedMissed = await storedAfter(symbols, cursor);
      expect(expectedMissed).toHaveLength(20);
      await waitFor(() => second.liveTicks().length === 20, 10_000, 'the missed ticks');
      expect(received(second)).toEqual(expectedMissed);
      expect(second.ofType('price_update').some((m) => m.snapshot)).toBe(false);

      await publishTicks(
        publisher,
        topology.pricesExchange,
        symbols.flatMap((s) => makeTicks(s, 5, { startIndex: 200 })),
      );
      await waitFor(() => second.liveTicks().length === 30, 10_000, 'live ticks after the catch-up');
      expect(received(second)).toEqual(await storedAfter(symbols, cursor));
      second.close();
    },
  );

  it(
    'when ticks keep flowing while the client resumes, then it gets every tick after its cursor once, in seq ' +
      'order',
    async () => {
      const symbols = ['AAPL', 'MSFT'];
      const since = await provider.store.repository.maxSeq();
      let flowing = true;
      let batch = 0;
      const flow = (async () => {
        while (flowing) {
          await publishTicks(
            publisher,
            topology.pricesExchange,
            symbols.flatMap((s) => makeTicks(s, 10, { startIndex: 1000 + batch * 10 })),
          );
          batch++;
        }
      })();
      try {
        await waitFor(
          async () => BigInt(await provider.store.repository.maxSeq()) > BigInt(since) + 100n,
          10_000,
          'ticks flowing',
        );
        const c = new TestClient(provider.wsUrl);
        await c.open();
        c.send({ type: 'subscribe', symbols, since });
        await waitFor(() => c.liveTicks().length > 300, 20_000, 'catch-up and live ticks');
        flowing = false;
        await flow;
        await waitFor(
          async () => (await storedAfter(symbols, since)).length === batch * 20,
          10_000,
          'every published tick stored',
        );
        const all = await storedAfter(symbols, since);
        await waitFor(() => c.liveTicks().length >= all.length, 10_000, 'every stored tick');
        expect(received(c)).toEqual(all);
        const cursors = c.liveTicks().map((t) => BigInt(t.cursor));
        expect(cursors).toEqual([...cursors].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        c.close();
      } finally {
        flowing = false;
        await flow;
      }
    },
  );
  it(
    'when the resume read fails, then the client gets an error and nothing past its gap, and a retry replays ' +
      'it all',
    async () => {
      const symbols = ['TSLA'];
      const repository = provider.store.repository;
      const first = new TestClient(provider.wsUrl);
      await first.open();
      first.send({ type: 'subscribe', symbols });
      await first.waitForMessage((m) => m.type === 'subscribed');
      await publishTicks(publisher, topology.pricesExchange, makeTicks('TSLA', 5, { startIndex: 5000 }));
      await waitFor(() => first.liveTicks().length === 5, 10_000, 'first live ticks');
      const cursor = lastCursor(first);
      first.close();
      await first.waitForClose();
      await publishTicks(publisher, topology.pricesExchange, makeTicks('TSLA', 5, { startIndex: 5100 }));
      await waitFor(async () => (await storedAfter(symbols, cursor)).length === 5, 10_000, 'missed ticks stored');
      // A resume reads the store only up to the live stream's cursor: let the stream pass the missed ticks.
      const stored = BigInt(await repository.maxSeq());
      await waitFor(() => BigInt(provider.app.liveFeed.cursor) >= stored, 10_000, 'missed ticks dispatched live');

      // The resume read fails (PostgreSQL reset) after live ticks came by for the resuming client.
      let started!: () => void;
      const readStarted = new Promise<void>((resolve) => (started = resolve));
      let fail!: () => void;
      const failNow = new Promise<void>((resolve) => (fail = resolve));
      const read = repository.ticksAfter.bind(repository);
      repository.ticksAfter = async (query) => {
        // Only the resume read (of the client's symbols) fails; the live stream's reads go on.
        if (!query.symbols) return read(query);
        started();
        await failNow;
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      };
      const watcher = new TestClient(provider.wsUrl);
      await watcher.open();
      watcher.send({ type: 'subscribe', symbols });
      await watcher.waitForMessage((m) => m.type === 'subscribed');
      const second = new TestClient(provider.wsUrl);
      await second.open();
      try {
        second.send({ type: 'subscribe', symbols, since: cursor });
        await readStarted;
        await publishTicks(publisher, topology.pricesExchange, makeTicks('TSLA', 5, { startIndex: 5200 }));
        await waitFor(() => watcher.liveTicks().length === 5, 10_000, 'live ticks while the resume read waits');
        fail();
        await second.waitForMessage((m) => m.type === 'error');
        // A tick past the gap would move the client's cursor over the ticks it never got.
        expect(received(second)).toEqual([]);

        delete (repository as Partial<typeof repository>).ticksAfter;
        second.send({ type: 'subscribe', symbols, since: cursor });
        await waitFor(() => second.liveTicks().length >= 10, 10_000, 'the replay after the retry');
        expect(received(second)).toEqual(await storedAfter(symbols, cursor));
      } finally {
        delete (repository as Partial<typeof repository>).ticksAfter;
        second.close();
        watcher.close();
      }
    },
  );
});
