import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { createTestSchema, deleteTopology, runId, testTopology } from './support/backends.js';
import { connectBus, startProvider, TestClient, type ProviderHarness } from './support/provider-harness.js';
import { makeTicks, publishTicks, type TestTick } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
let publisher: RabbitBus;
let provider: ProviderHarness;
const clients: TestClient[] = [];
let next = 1000;

const BASE = Date.parse('2024-09-14T12:00:00.000Z');
/** Ticks at the given prices, one second apart, after every earlier one of the file. */
const priced = (symbol: string, ...prices: number[]): TestTick[] =>
  prices.map((price) => ({
    symbol,
    price,
    timestamp: new Date(BASE + next++ * 1000).toISOString(),
    source: 'simulated',
  }));
const contractTime = (t: TestTick) => t.timestamp.replace('.000Z', 'Z');

const connect = async () => {
  const c = new TestClient(provider.wsUrl);
  clients.push(c);
  await c.open();
  return c;
};
/**
 * Publishes ticks and waits until they are stored and the live stream has dispatched them: an alert set with
 * `since` catches up from the store only up to the live cursor, and the live stream checks what comes after it.
 */
const store = async (ticks: TestTick[]) => {
  const before = BigInt(await provider.store.repository.maxSeq());
  await publishTicks(publisher, topology.pricesExchange, ticks);
  const upTo = before + BigInt(ticks.length);
  const stored = async () => BigInt(await provider.store.repository.maxSeq()) >= upTo;
  await waitFor(stored, 10_000, 'ticks stored');
  await waitFor(() => BigInt(provider.app.liveFeed.cursor) >= upTo, 10_000, 'ticks dispatched live');
};
/** Subscribes `c` to `symbol` so that its live updates show how far the stream has reached it. */
const watch = async (c: TestClient, symbol: string) => {
  c.send({ type: 'subscribe', symbols: [symbol] });
  await c.waitForMessage((m) => m.type === 'subscribed');
};
const seen = (c: TestClient, t: TestTick) =>
  c.liveTicks().some((l) => l.symbol === t.symbol && l.entry.timestamp === contractTime(t));
const setAlert = async (c: TestClient, alert: Record<string, unknown>) => {
  c.send({ type: 'alert', ...alert });
  return c.waitForMessage((m) => m.type === 'alert_set' && m.id === alert.id);
};

beforeAll(async () => {
  db = await createTestSchema(run);
  publisher = await connectBus();
  const ws = { maxAlerts: 3, maxErrors: 20, subscribePerSecond: 0.1 };
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology, ws });
  await publishTicks(
    publisher,
    topology.pricesExchange,
    ['AAPL', 'TSLA', 'MSFT'].flatMap((s) => makeTicks(s, 1)),
  );
  const known = async () => (await provider.store.repository.knownSymbols(['AAPL', 'TSLA', 'MSFT'])).size === 3;
  await waitFor(known, 10_000, 'symbols stored');
  const upTo = BigInt(await provider.store.repository.maxSeq());
  await waitFor(() => BigInt(provider.app.liveFeed.cursor) >= upTo, 10_000, 'symbols dispatched live');
});
afterAll(async () => {
  for (const c of clients) c.close();
  await provider?.close();
  await publisher?.close();
  await db?.drop();
  await deleteTopology(topology);
});

describe('alert', () => {
  it(
    'when a stored tick crosses the level, then alert_triggered comes once, on a symbol the client does not ' +
      'subscribe to',
    async () => {
      const c = await connect();
      const ack = await setAlert(c, { id: 'a1', symbol: 'aapl', above: 230 });
      const cursor = expect.stringMatching(/^\d+$/) as unknown;
      expect(ack).toEqual({ type: 'alert_set', id: 'a1', symbol: 'AAPL', condition: { above: 230 }, cursor });

      const ticks = priced('AAPL', 220, 229.99, 230.5, 240);
      await store(ticks);
      const fired = await c.waitForMessage((m) => m.type === 'alert_triggered');
      const query = { after: ack.cursor as string, symbols: ['AAPL'], limit: 10 };
      const after = await provider.store.repository.ticksAfter(query);
      const seq = after[2]!.seq;
      expect(fired).toEqual({
        type: 'alert_triggered',
        id: 'a1',
        symbol: 'AAPL',
        price: 230.5,
        condition: { above: 230 },
        seq,
        timestamp: contractTime(ticks[2]!),
      });

      await watch(c, 'AAPL');
      const later = priced('AAPL', 250);
      await store(later);
      await waitFor(() => seen(c, later[0]!), 10_000, 'the later tick');
      expect(c.ofType('alert_triggered')).toHaveLength(1);
      expect(c.ofType('price_update').filter((m) => !m.snapshot).length).toBe(1);
    },
  );

  it(
    'when the price falls or moves by change_pct within the window, then below and change_pct alerts fire at ' +
      'that tick',
    async () => {
      const c = await connect();
      await setAlert(c, { id: 'low', symbol: 'TSLA', below: 90 });
      await setAlert(c, { id: 'drop', symbol: 'TSLA', change_pct: -10, window_s: 2 });
      await setAlert(c, { id: 'rise', symbol: 'TSLA', change_pct: 5, window_s: 60 });
      // One second apart: the 2 s window holds the tick before and this one. 100 → 92 is −8 % but 100 has left the
      // window by then; 94 → 84 is −10.6 %.
      const ticks = priced('TSLA', 100, 95, 92, 94, 84, 200);
      await store(ticks);
      await waitFor(() => c.ofType('alert_triggered').length === 3, 10_000, 'three triggers');
      const byId = Object.fromEntries(c.ofType('alert_triggered').map((m) => [m.id, m]));
      expect(byId.low).toMatchObject({ price: 84, condition: { below: 90 }, timestamp: contractTime(ticks[4]!) });
      expect(byId.drop).toMatchObject({ price: 84, reference: { price: 94, timestamp: contractTime(ticks[3]!) } });
      expect(byId.rise).toMatchObject({ price: 200, reference: { price: 100, timestamp: contractTime(ticks[0]!) } });
    },
  );

  it('when the same id is set again, then it replaces the earlier alert; a refused one leaves it', async () => {
    const c = await connect();
    await setAlert(c, { id: 'x', symbol: 'MSFT', above: 150 });
    c.send({ type: 'alert', id: 'x', symbol: 'MSFT', above: 500 });
    await waitFor(() => c.ofType('alert_set').length === 2, 10_000, 'second ack');
    c.send({ type: 'alert', id: 'x', symbol: 'MSFT', above: -1 });
    await c.waitForMessage((m) => m.type === 'error' && m.id === 'x');
    await watch(c, 'MSFT');
    const t = priced('MSFT', 300);
    await store(t);
    await waitFor(() => seen(c, t[0]!), 10_000, 'the tick');
    expect(c.ofType('alert_triggered')).toEqual([]);
    const crossing = priced('MSFT', 600);
    await store(crossing);
    const fired = await c.waitForMessage((m) => m.type === 'alert_triggered');
    expect(fired).toMatchObject({ id: 'x', condition: { above: 500 }, price: 600 });
  });
});

describe('alert with since (resume)', () => {
  it(
    'when a tick crosses while the client is away, then setting the alert again with its cursor triggers it on ' +
      'the missed tick',
    async () => {
      const first = await connect();
      const ack = await setAlert(first, { id: 'r1', symbol: 'MSFT', below: 50 });
      first.close();
      await first.waitForClose();

      const missed = priced('MSFT', 60, 45, 40);
      await store(missed);

      const second = await connect();
      second.send({ type: 'alert', id: 'r1', symbol: 'MSFT', below: 50, since: ack.cursor });
      const fired = await second.waitForMessage((m) => m.type === 'alert_triggered');
      expect(fired).toMatchObject({ id: 'r1', symbol: 'MSFT', price: 45, timestamp: contractTime(missed[1]!) });
      // Fired during the catch-up: no ack, and nothing more.
      await watch(second, 'MSFT');
      const live = priced('MSFT', 30);
      await store(live);
      await waitFor(() => seen(second, live[0]!), 10_000, 'the live tick');
      expect(second.ofType('alert_set')).toEqual([]);
      expect(second.ofType('alert_triggered')).toHaveLength(1);
    },
  );

  it(
    'when nothing crossed while away, then the alert is acknowledged with a newer cursor and fires on the next ' +
      'live crossing',
    async () => {
      const first = await connect();
      const ack = await setAlert(first, { id: 'r2', symbol: 'MSFT', above: 400 });
      first.close();
      await first.waitForClose();
      await store(priced('MSFT', 100, 120));

      const second = await connect();
      const again = await setAlert(second, { id: 'r2', symbol: 'MSFT', above: 400, since: ack.cursor });
      expect(BigInt(again.cursor as string)).toBeGreaterThan(BigInt(ack.cursor as string));
      expect(second.ofType('alert_triggered')).toEqual([]);
      const live = priced('MSFT', 410);
      await store(live);
      const fired = await second.waitForMessage((m) => m.type === 'alert_triggered');
      expect(fired).toMatchObject({ id: 'r2', price: 410, timestamp: contractTime(live[0]!) });
    },
  );
});

describe('alert with since (resume) when the store fails', () => {
  it(
    'when the missed ticks cannot be read, then the alert is not set, an error with its id says so, and ' +
      'nothing fires',
    async () => {
      const c = await connect();
      const ack = await setAlert(c, { id: 'f0', symbol: 'TSLA', above: 100_000 });
      await store(priced('TSLA', 50));
      const repository = provider.store.repository;
      const ticksAfter = repository.ticksAfter.bind(repository);
      // Only the alert's catch-up read (of its symbol) fails; the live stream's reads go on.
      repository.ticksAfter = (query) => (query.symbols ? Promise.reject(new Error('store down')) : ticksAfter(query));
      try {
        c.send({ type: 'alert', id: 'f1', symbol: 'TSLA', below: 60, since: ack.cursor });
        expect(await c.waitForMessage((m) => m.type === 'error')).toEqual({
          type: 'error',
          message: 'Alert f1 not set: the store could not be read; please set it again',
          id: 'f1',
        });
      } finally {
        repository.ticksAfter = ticksAfter;
      }
      await watch(c, 'TSLA');
      const t = priced('TSLA', 40);
      await store(t);
      await waitFor(() => seen(c, t[0]!), 10_000, 'the crossing tick');
      expect(c.ofType('alert_triggered')).toEqual([]);
      expect(c.closeCode).toBeUndefined();
    },
  );
});

describe('alert_cancel', () => {
  it('when an alert is cancelled, then it is acknowledged and a crossing tick no longer fires it', async () => {
    const c = await connect();
    await setAlert(c, { id: 'c1', symbol: 'TSLA', above: 1000 });
    c.send({ type: 'alert_cancel', id: 'c1' });
    expect(await c.waitForMessage((m) => m.type === 'alert_cancelled')).toEqual({ type: 'alert_cancelled', id: 'c1' });
    await watch(c, 'TSLA');
    const t = priced('TSLA', 1500);
    await store(t);
    await waitFor(() => seen(c, t[0]!), 10_000, 'the crossing tick');
    expect(c.ofType('alert_triggered')).toEqual([]);
    // Cancelling an unknown (or already fired) id is acknowledged the same way.
    c.send({ type: 'alert_cancel', id: 'never-set' });
    await c.waitForMessage((m) => m.type === 'alert_cancelled' && m.id === 'never-set');
  });
});

describe('alert limits and bad input', () => {
  it(
    'when a connection holds its most alerts, then one more gets an error with its id, and replacing one still ' +
      'works',
    async () => {
      const c = await connect();
      for (const id of ['k1', 'k2', 'k3']) await setAlert(c, { id, symbol: 'AAPL', above: 10_000 });
      c.send({ type: 'alert', id: 'k4', symbol: 'AAPL', above: 10_000 });
      expect(await c.waitForMessage((m) => m.type === 'error')).toEqual({
        type: 'error',
        message: 'Too many alerts: at most 3 per connection',
        id: 'k4',
      });
      await setAlert(c, { id: 'k2', symbol: 'AAPL', below: 1 });
      c.send({ type: 'alert_cancel', id: 'k1' });
      await c.waitForMessage((m) => m.type === 'alert_cancelled');
      await setAlert(c, { id: 'k4', symbol: 'AAPL', above: 10_000 });
    },
  );

  it(
    'when a connection sends more alert requests than its ' + 'burst, then the next gets an error with its id',
    async () => {
      const c = await connect();
      // The burst is twice the most alerts (3); refilled at WS_SUBSCRIBE_PER_SECOND (0.1 here).
      for (let i = 0; i < 7; i++) c.send({ type: 'alert', id: 'same', symbol: 'AAPL', above: 10_000 + i });
      expect(await c.waitForMessage((m) => m.type === 'error')).toEqual({
        type: 'error',
        message: 'Too many alert requests: at most 6 at once and 0.1 per second after',
        id: 'same',
      });
      await waitFor(() => c.ofType('alert_set').length === 6, 10_000, 'six acks');
      expect(c.ofType('alert_set').at(-1)).toMatchObject({ condition: { above: 10_005 } });
    },
  );

  it('when an alert message is malformed, then an error explains it and the connection stays up', async () => {
    const c = await connect();
    const oneOf = 'Invalid alert message: give exactly one of "above", "below" or "change_pct" (with "window_s")';
    const bad: [Record<string, unknown>, string][] = [
      [{ id: 'b', symbol: 'AAPL' }, oneOf],
      [{ id: 'b', symbol: 'AAPL', above: 1, below: 2 }, oneOf],
      [{ id: 'b', symbol: 'AAPL', above: -5 }, 'Invalid alert message: /above Expected number to be greater than 0'],
      [{ id: 'b', symbol: 'AAPL', above: '230' }, 'Invalid alert message: /above Expected number'],
      [{ id: 'b', symbol: 'AAPL', change_pct: 5 }, 'Invalid alert message: /window_s Expected required property'],
      [{ id: 'b', symbol: 'AAPL', change_pct: 0, window_s: 60 }, 'Invalid alert message: /change_pct must not be 0'],
      [
        { id: 'b', symbol: 'AAPL', above: 1, since: 'x' },
        "Invalid alert message: /since Expected string to match '^\\d{1,19}$'",
      ],
      [{ id: '', symbol: 'AAPL', above: 1 }, 'Invalid alert message: /id Expected string length greater or equal to 1'],
      [{ id: 'b', symbol: 'AAPL', above: 1, colour: 'red' }, 'Invalid alert message: /colour Unexpected property'],
    ];
    for (const [message, error] of bad) {
      const before = c.ofType('error').length;
      c.send({ type: 'alert', ...message });
      await waitFor(() => c.ofType('error').length > before, 10_000, `error for ${JSON.stringify(message)}`);
      // The id is echoed when it is one: the client knows which alert was refused.
      const id = message.id ? { id: message.id } : {};
      expect(c.ofType('error').at(-1)).toEqual({ type: 'error', message: error, ...id });
    }
    c.send({ type: 'alert', id: 'u', symbol: 'XYZ', above: 1 });
    expect(await c.waitForMessage((m) => m.type === 'error' && m.id === 'u')).toEqual({
      type: 'error',
      message: 'Invalid stock symbol: XYZ',
      id: 'u',
    });
    c.send({ type: 'alert_cancel' });
    await waitFor(() => c.ofType('error').length === bad.length + 2, 10_000, 'alert_cancel error');
    expect(c.ofType('error').at(-1)!.message).toBe('Invalid alert_cancel message: /id Expected required property');
    await setAlert(c, { id: 'ok', symbol: 'AAPL', above: 1 });
    expect(c.closeCode).toBeUndefined();
  });
});
