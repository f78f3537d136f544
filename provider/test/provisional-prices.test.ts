import type postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { lockTicks, runId, testTopology } from './support/backends.js';
import { openTestRun, type TestRun } from './support/test-run.js';
import {
  startProvider,
  TestClient,
  type PriceEntry,
  type ProviderHarness,
  type ServerMessage,
} from './support/provider-harness.js';
import { makeTicks, publishTicks, type TestTick } from './support/ticks.js';
import { TcpProxy, waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
const MAX_LAG_MS = 200;
let testRun: TestRun;
let db: TestRun['db'];
let admin: postgres.Sql;
let publisher: RabbitBus;
let proxy: TcpProxy;
let a: ProviderHarness;
let b: ProviderHarness;
const clients: TestClient[] = [];
let next = 10;

const contractTime = (iso: string) => iso.replace('.000Z', 'Z');
const key = (symbol: string, timestamp: string) => `${symbol}@${contractTime(timestamp)}`;

const connect = async (p: ProviderHarness, symbols: string[], since?: string) => {
  const c = new TestClient(p.wsUrl);
  clients.push(c);
  await c.open();
  c.send({ type: 'subscribe', symbols, ...(since ? { since } : {}) });
  await c.waitForMessage((m) => m.type === 'subscribed');
  return c;
};

/** Every symbol entry of the client's live `price_update`s, with the message it came in and when. */
const entries = (c: TestClient) =>
  c.messages.flatMap((m, i) =>
    m.type === 'price_update' && !m.snapshot
      ? Object.entries(m.data as Record<string, PriceEntry>).map(([symbol, entry]) => ({
          key: key(symbol, entry.timestamp),
          entry,
          message: m,
          at: c.arrivedAt[i]!,
        }))
      : [],
  );
const provisionalKeys = (c: TestClient) =>
  entries(c)
    .filter((e) => e.entry.provisional)
    .map((e) => e.key);
const storedKeys = (c: TestClient) =>
  entries(c)
    .filter((e) => !e.entry.provisional)
    .map((e) => e.key);
/** The ticks `stored` messages confirmed, in arrival order. */
const confirmedKeys = (c: TestClient) =>
  c
    .ofType('stored')
    .flatMap((m) => (m.ticks as { symbol: string; timestamp: string }[]).map((t) => key(t.symbol, t.timestamp)));
const lastCursor = (c: TestClient) =>
  c.messages.filter((m): m is ServerMessage & { cursor: string } => typeof m.cursor === 'string').at(-1)?.cursor;

const storedRows = async (symbols: string[]) =>
  (
    await admin.unsafe(
      `SELECT symbol, "timestamp", seq::text AS seq FROM "${db.schema}".ticks
        WHERE symbol = ANY($1) ORDER BY ticks.seq`,
      [symbols],
    )
  ).map((r) => ({ key: key(r.symbol as string, (r.timestamp as Date).toISOString()), seq: r.seq as string }));

/** Publishes `count` new ticks of each symbol and returns them with the time they were published. */
const publish = async (symbols: string[], count: number): Promise<{ ticks: TestTick[]; at: number }> => {
  const ticks = symbols.flatMap((s) => makeTicks(s, count, { startIndex: next }));
  next += count;
  const at = Date.now();
  await publishTicks(publisher, topology.pricesExchange, ticks);
  return { ticks, at };
};

beforeAll(async () => {
  testRun = await openTestRun(run);
  ({ db, admin, publisher } = testRun);
  // Both instances reach PostgreSQL only through this proxy: cutting it is an outage for this file alone.
  proxy = new TcpProxy('127.0.0.1', 5432);
  const port = await proxy.start();
  const databaseUrl = db.url.replace('127.0.0.1:5432', `127.0.0.1:${port}`);
  const start = () =>
    startProvider({
      schema: db.schema,
      databaseUrl,
      topology,
      provisional: { maxLagMs: MAX_LAG_MS, maxTicks: 10_000 },
      livePollIntervalMs: 200,
    });
  a = await start();
  b = await start();
  await publishTicks(
    publisher,
    topology.pricesExchange,
    ['AAPL', 'MSFT'].flatMap((s) => makeTicks(s, 1)),
  );
  await waitFor(async () => (await storedRows(['AAPL', 'MSFT'])).length === 2, 10_000, 'symbols stored');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await Promise.all([a?.close(), b?.close()]);
  await proxy?.stop();
  await testRun?.close();
});

describe('provisional prices', () => {
  it('when PostgreSQL is unreachable, then clients of every instance get each tick within a second, marked ' +
    'provisional and without a cursor; once stored, each ' +
    'is confirmed with its cursor and never pushed again', async () => {
    const onA = await connect(a, ['AAPL', 'MSFT']);
    const onB = await connect(b, ['AAPL']);
    const before = lastCursor(onA) ?? (await a.store.repository.maxSeq());

    await proxy.cut();
    try {
      const { ticks, at } = await publish(['AAPL', 'MSFT'], 20);
      const wantA = ticks.map((t) => key(t.symbol, t.timestamp));
      const wantB = ticks.filter((t) => t.symbol === 'AAPL').map((t) => key(t.symbol, t.timestamp));
      await waitFor(
        () => provisionalKeys(onA).length >= 40 && provisionalKeys(onB).length >= 20,
        10_000,
        'provisional prices at both clients',
      );
      expect(new Set(provisionalKeys(onA))).toEqual(new Set(wantA));
      expect(new Set(provisionalKeys(onB))).toEqual(new Set(wantB));
      for (const c of [onA, onB]) {
        for (const e of entries(c)) {
          expect(e.entry.provisional).toBe(true);
          expect(e.message.cursor).toBeUndefined();
          expect(e.at - at).toBeLessThan(1000);
        }
      }
      const sample = ticks.find((t) => t.symbol === 'MSFT')!;
      expect(entries(onA).find((e) => e.key === key(sample.symbol, sample.timestamp))!.entry).toEqual({
        price: sample.price,
        timestamp: contractTime(sample.timestamp),
        source: 'simulated',
        provisional: true,
      });
      expect(await storedRows(['AAPL', 'MSFT'])).toHaveLength(2);
    } finally {
      await proxy.restore();
    }

    const rows = (
      await waitFor(
        async () => {
          const r = await storedRows(['AAPL', 'MSFT']);
          return r.length === 42 && r;
        },
        20_000,
        'the backlog stored',
      )
    ).slice(2);
    await waitFor(
      () => confirmedKeys(onA).length >= 40 && confirmedKeys(onB).length >= 20,
      10_000,
      'stored confirmations',
    );
    expect(confirmedKeys(onA).sort()).toEqual(provisionalKeys(onA).sort());
    expect(confirmedKeys(onB).sort()).toEqual(provisionalKeys(onB).sort());
    // The stored versions were not pushed again, and the cursor moved to the last stored seq.
    expect(storedKeys(onA)).toEqual([]);
    expect(storedKeys(onB)).toEqual([]);
    expect(lastCursor(onA)).toBe(rows.at(-1)!.seq);
    expect(lastCursor(onB)).toBe(rows.filter((r) => r.key.startsWith('AAPL@')).at(-1)!.seq);

    // Resuming from before the outage replays exactly the stored ticks; from the confirmed cursor, nothing.
    const fromBefore = await connect(a, ['AAPL', 'MSFT'], before);
    await waitFor(() => storedKeys(fromBefore).length >= 40, 10_000, 'the replay');
    expect(storedKeys(fromBefore)).toEqual(rows.map((r) => r.key));
    const fromConfirmed = await connect(b, ['AAPL', 'MSFT'], lastCursor(onA));
    const { ticks: after } = await publish(['MSFT'], 1);
    await waitFor(() => entries(fromConfirmed).length >= 1, 10_000, 'the next live tick');
    expect(entries(fromConfirmed).map((e) => e.key)).toEqual([key('MSFT', after[0]!.timestamp)]);
  }, 60_000);

  it(
    'when storing lags behind by more than the bound, then the ticks are pushed provisionally, and their ' +
      'commit only confirms them',
    async () => {
      const c = await connect(a, ['AAPL']);
      const lock = await lockTicks(db.url, db.schema, 'EXCLUSIVE');
      let published: TestTick[];
      try {
        ({ ticks: published } = await publish(['AAPL'], 5));
        await waitFor(() => provisionalKeys(c).length === 5, 10_000, 'five provisional prices');
        expect(c.ofType('stored')).toEqual([]);
      } finally {
        await lock.release();
      }
      await waitFor(() => confirmedKeys(c).length === 5, 10_000, 'five confirmations');
      // In commit (seq) order, which two workers need not make the publish order.
      const want = new Set(published!.map((t) => key(t.symbol, t.timestamp)));
      expect(confirmedKeys(c)).toEqual((await storedRows(['AAPL'])).map((r) => r.key).filter((k) => want.has(k)));
      expect(storedKeys(c)).toEqual([]);
    },
  );

  it(
    'when ticks are stored in time or late, then each reaches the client once: as a stored price, or ' +
      'provisionally and then confirmed',
    async () => {
      const c = await connect(b, ['MSFT']);
      const { ticks } = await publish(['MSFT'], 5);
      const want = ticks.map((t) => key(t.symbol, t.timestamp));
      await waitFor(() => storedKeys(c).length + confirmedKeys(c).length === 5, 10_000, 'five stored prices');
      expect([...storedKeys(c), ...confirmedKeys(c)].sort()).toEqual([...want].sort());
      expect(
        entries(c)
          .map((e) => e.key)
          .sort(),
      ).toEqual([...want].sort());
      expect(confirmedKeys(c).sort()).toEqual(provisionalKeys(c).sort());
    },
  );

  it(
    "when provisional prices come while a client's resume read is held up, then it gets the replay, then each " +
      'new tick once, provisionally, then their confirmations',
    async () => {
      const upTo = BigInt(await a.store.repository.maxSeq());
      // The resume below must reach past the live stream: wait until it has dispatched every stored tick.
      await waitFor(() => BigInt(a.app.liveFeed.cursor) >= upTo, 10_000, 'stored ticks dispatched live');
      const provisionalBefore =
        (await a.metrics.getSingleMetric('provider_ws_provisional_ticks_total')!.get()).values[0]?.value ?? 0;
      const c = new TestClient(a.wsUrl);
      clients.push(c);
      await c.open();
      // Nothing reads or writes ticks while this is held: the resume read waits, and storing lags.
      const lock = await lockTicks(db.url, db.schema, 'ACCESS EXCLUSIVE');
      let published: TestTick[];
      try {
        c.send({ type: 'subscribe', symbols: ['AAPL', 'MSFT'], since: String(upTo - 3n) });
        // The client is on hold from before the acknowledgement until its resume read is sent.
        await c.waitForMessage((m) => m.type === 'subscribed');
        ({ ticks: published } = await publish(['AAPL'], 3));
        const pushed = async () =>
          ((await a.metrics.getSingleMetric('provider_ws_provisional_ticks_total')!.get()).values[0]?.value ?? 0) -
          provisionalBefore;
        await waitFor(async () => (await pushed()) >= 3, 10_000, 'the new ticks pushed provisionally');
        // Held back behind the resume: nothing may overtake the replay.
        expect(entries(c)).toEqual([]);
      } finally {
        await lock.release();
      }
      const replay = (await storedRows(['AAPL', 'MSFT']))
        .filter((r) => BigInt(r.seq) > upTo - 3n && BigInt(r.seq) <= upTo)
        .map((r) => r.key);
      expect(replay).toHaveLength(3);
      const fresh = published!.map((t) => key(t.symbol, t.timestamp));
      await waitFor(() => confirmedKeys(c).length === 3, 10_000, 'three confirmations');
      expect(entries(c).map((e) => e.key)).toEqual([...replay, ...fresh]);
      expect(storedKeys(c)).toEqual(replay);
      expect(provisionalKeys(c)).toEqual(fresh);
      expect(confirmedKeys(c).sort()).toEqual([...fresh].sort());
    },
  );
});
