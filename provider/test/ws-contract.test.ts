import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RabbitBus } from '@lizards/lib';
import { createTestSchema, deleteTopology, runId, testTopology } from './support/backends.js';
import {
  connectBus,
  startProvider,
  TestClient,
  type PriceEntry,
  type ProviderHarness,
} from './support/provider-harness.js';
import { makeTicks, publishTicks } from './support/ticks.js';
import { waitFor } from '@lizards/testkit';

const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
let publisher: RabbitBus;
let provider: ProviderHarness;
const clients: TestClient[] = [];
let next = 100;

const connect = async (url = provider.wsUrl, options = {}) => {
  const c = new TestClient(url, options);
  clients.push(c);
  await c.open();
  return c;
};
/** Publishes one new tick per symbol and returns them. */
const publishOne = async (...symbols: string[]) => {
  const ticks = symbols.flatMap((s) => makeTicks(s, 1, { startIndex: next }));
  next++;
  await publishTicks(publisher, topology.pricesExchange, ticks);
  return ticks;
};
const liveFor = (c: TestClient, symbol: string) => c.liveTicks().filter((t) => t.symbol === symbol);

beforeAll(async () => {
  db = await createTestSchema(run);
  publisher = await connectBus();
  provider = await startProvider({
    schema: db.schema,
    databaseUrl: db.url,
    topology,
    ws: { maxSymbols: 5, maxMessageBytes: 512, maxPayload: 2048, maxErrors: 4 },
  });
  await publishTicks(
    publisher,
    topology.pricesExchange,
    ['AAPL', 'TSLA', 'MSFT'].flatMap((s) => makeTicks(s, 3)),
  );
  await waitFor(
    async () => (await provider.store.repository.knownSymbols(['AAPL', 'TSLA', 'MSFT'])).size === 3,
    10_000,
    'symbols stored',
  );
});
afterAll(async () => {
  for (const c of clients) c.close();
  await provider?.close();
  await publisher?.close();
  await db?.drop();
  await deleteTopology(topology);
});

describe('subscribe', () => {
  it(
    'when a client subscribes, then it gets an ack, a snapshot of the latest stored prices, then live updates ' +
      'only for its symbols',
    async () => {
      const c = await connect();
      c.send({ type: 'subscribe', symbols: ['AAPL', 'TSLA'] });
      const ack = await c.waitForMessage((m) => m.type === 'subscribed');
      expect(ack).toEqual({ type: 'subscribed', symbols: ['AAPL', 'TSLA'], rejected: [] });
      const snapshot = await c.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);
      const latest = makeTicks('AAPL', 3)[2]!;
      expect((snapshot.data as Record<string, PriceEntry>).AAPL).toEqual({
        price: latest.price,
        timestamp: latest.timestamp.replace('.000Z', 'Z'),
        source: 'simulated',
      });
      expect(Object.keys(snapshot.data as object).sort()).toEqual(['AAPL', 'TSLA']);

      const [aapl] = await publishOne('AAPL', 'MSFT', 'TSLA');
      await waitFor(
        () => liveFor(c, 'AAPL').length === 1 && liveFor(c, 'TSLA').length === 1,
        10_000,
        'live AAPL and TSLA',
      );
      const update = c.messages.find((m) => m.type === 'price_update' && !m.snapshot)!;
      expect(Object.keys(update)).toEqual(['type', 'data', 'cursor']);
      expect(update.cursor).toMatch(/^\d+$/);
      expect((update.data as Record<string, PriceEntry>).AAPL).toEqual({
        price: aapl!.price,
        timestamp: aapl!.timestamp.replace('.000Z', 'Z'),
        source: 'simulated',
      });
      expect(c.liveTicks().some((t) => t.symbol === 'MSFT')).toBe(false);
    },
  );

  it(
    'when a symbol is unknown, then the exact contract error ' + 'is sent and the valid symbols are subscribed',
    async () => {
      const c = await connect();
      c.send({ type: 'subscribe', symbols: ['aapl', 'XYZ', 'bad symbol'] });
      const ack = await c.waitForMessage((m) => m.type === 'subscribed');
      expect(ack).toEqual({
        type: 'subscribed',
        symbols: ['AAPL'],
        rejected: [
          { symbol: 'XYZ', reason: 'unknown symbol' },
          { symbol: 'bad symbol', reason: 'invalid symbol' },
        ],
      });
      expect(c.raw).toContain('{"type":"error","message":"Invalid stock symbol: XYZ"}');
      expect(c.raw).toContain('{"type":"error","message":"Invalid stock symbol: bad symbol"}');
      await publishOne('AAPL');
      await waitFor(() => liveFor(c, 'AAPL').length === 1, 10_000, 'live AAPL');
    },
  );
});

describe('unsubscribe', () => {
  it('when a client unsubscribes, then it gets an ack and no further update for that symbol', async () => {
    const c = await connect();
    c.send({ type: 'subscribe', symbols: ['AAPL', 'TSLA'] });
    await c.waitForMessage((m) => m.type === 'subscribed');
    await publishOne('AAPL', 'TSLA');
    await waitFor(() => liveFor(c, 'AAPL').length === 1, 10_000, 'first AAPL');
    c.send({ type: 'unsubscribe', symbols: ['AAPL'] });
    expect(await c.waitForMessage((m) => m.type === 'unsubscribed')).toEqual({
      type: 'unsubscribed',
      symbols: ['AAPL'],
    });
    const afterAck = c.messages.length;
    await publishOne('AAPL', 'TSLA');
    await waitFor(() => liveFor(c, 'TSLA').length === 2, 10_000, 'second TSLA');
    const later = c.messages.slice(afterAck).filter((m) => m.type === 'price_update');
    expect(later.some((m) => 'AAPL' in (m.data as object))).toBe(false);
  });
});

describe('malformed input', () => {
  it(
    'when a client sends bad JSON, an unknown type or a bad shape, then it gets errors and the connection ' +
      'still works',
    async () => {
      const c = await connect();
      c.send('{nope');
      c.send({ type: 'dance' });
      c.send({ type: 'subscribe', symbols: 'AAPL' });
      await waitFor(() => c.ofType('error').length === 3, 10_000, 'three errors');
      expect(c.ofType('error').map((m) => m.message)).toEqual([
        'Malformed JSON',
        'Unknown message type: dance',
        'Invalid subscribe message: /symbols Expected array',
      ]);
      c.send({ type: 'subscribe', symbols: ['MSFT'] });
      await c.waitForMessage((m) => m.type === 'subscribed');
      expect(c.closeCode).toBeUndefined();
    },
  );

  it('when a client asks for too many symbols or sends an oversize message, then it gets an error', async () => {
    const c = await connect();
    c.send({ type: 'subscribe', symbols: ['A', 'B', 'C', 'D', 'E', 'F'] });
    c.send({ type: 'subscribe', symbols: ['AAPL'], pad: 'x'.repeat(600) });
    await waitFor(() => c.ofType('error').length === 2, 10_000, 'two errors');
    expect(c.ofType('error').map((m) => m.message)).toEqual([
      'Too many symbols: at most 5 per connection',
      'Message too large: at most 512 bytes',
    ]);
  });

  it('when a client keeps sending garbage, then it is closed with 1008', async () => {
    const c = await connect();
    for (let i = 0; i < 4; i++) c.send('garbage');
    expect(await c.waitForClose()).toBe(1008);
  });

  it('when a frame exceeds the maximum payload, then the socket is closed with 1009', async () => {
    const c = await connect();
    c.send('x'.repeat(4096));
    expect(await c.waitForClose()).toBe(1009);
  });
});

describe('metrics', () => {
  it('counts connections, subscriptions, pushed messages and bytes, and tick-to-push latency', async () => {
    const text = await (await provider.app.admin.inject('/metrics')).body;
    for (const name of [
      'provider_ws_connections',
      'provider_ws_subscriptions',
      'provider_ws_messages_pushed_total',
      'provider_ws_bytes_pushed_total',
      'provider_ws_conflated_total',
      'provider_tick_to_push_seconds_count',
    ]) {
      expect(text).toContain(name);
    }
    const pushed = Number(/provider_ws_messages_pushed_total(?:\{[^}]*\})? (\d+)/.exec(text)?.[1]);
    expect(pushed).toBeGreaterThan(5);
    const latencyCount = Number(/provider_tick_to_push_seconds_count(?:\{[^}]*\})? (\d+)/.exec(text)?.[1]);
    expect(latencyCount).toBeGreaterThan(0);
  });
});

describe('in memory (injectWS)', () => {
  it('when a socket is injected without a network, then the same protocol answers', async () => {
    const ws = await provider.app.injectWS('/ws');
    const got: string[] = [];
    ws.on('message', (d: Buffer) => got.push(d.toString()));
    ws.send(JSON.stringify({ type: 'subscribe', symbols: ['XYZ', 'MSFT'] }));
    await waitFor(() => got.length >= 3, 10_000, 'error, ack and snapshot');
    expect(got[0]).toBe('{"type":"error","message":"Invalid stock symbol: XYZ"}');
    expect(JSON.parse(got[1]!)).toEqual({
      type: 'subscribed',
      symbols: ['MSFT'],
      rejected: [{ symbol: 'XYZ', reason: 'unknown symbol' }],
    });
    expect(JSON.parse(got[2]!)).toMatchObject({ type: 'price_update', snapshot: true });
    ws.terminate();
  });
});

describe('stale notice', () => {
  it(
    'when a subscribed symbol goes quiet, then the client is told it is stale, and the next tick is pushed as ' +
      'usual',
    async () => {
      const local = await startProvider({
        schema: db.schema,
        databaseUrl: db.url,
        topology,
        ws: { staleAfterMs: 1000 },
        livePollIntervalMs: 100,
      });
      try {
        const c = await connect(local.wsUrl);
        c.send({ type: 'subscribe', symbols: ['TSLA'] });
        const snapshot = await c.waitForMessage((m) => m.type === 'price_update' && m.snapshot === true);
        const stale = await c.waitForMessage((m) => m.type === 'stale', 10_000, 'stale notice');
        const snapTimestamp = (snapshot.data as Record<string, PriceEntry>).TSLA!.timestamp;
        expect(stale).toEqual({ type: 'stale', symbol: 'TSLA', since: new Date(snapTimestamp).toISOString() });
        await publishOne('TSLA');
        await waitFor(() => liveFor(c, 'TSLA').length === 1, 10_000, 'next TSLA tick');
      } finally {
        await local.close();
      }
    },
  );
});

describe('heartbeat and shutdown', () => {
  it('when a client stops answering pings, then it is terminated, while a live client stays', async () => {
    const local = await startProvider({
      schema: db.schema,
      databaseUrl: db.url,
      topology,
      worker: false,
      ws: { pingIntervalMs: 150 },
    });
    try {
      const silent = await connect(local.wsUrl, { autoPong: false });
      const alive = await connect(local.wsUrl);
      await silent.waitForClose();
      expect(silent.closeCode).toBe(1006);
      alive.send({ type: 'subscribe', symbols: ['AAPL'] });
      await alive.waitForMessage((m) => m.type === 'subscribed');
      expect(alive.closeCode).toBeUndefined();
    } finally {
      await local.close();
    }
  });

  it('when the provider shuts down, then clients get a reconnect hint before the close', async () => {
    const local = await startProvider({ schema: db.schema, databaseUrl: db.url, topology, worker: false });
    const c = await connect(local.wsUrl);
    await local.close();
    expect(await c.waitForClose()).toBe(1001);
    expect(c.messages.at(-1)).toEqual({ type: 'reconnect', reason: 'shutdown' });
  });
});
