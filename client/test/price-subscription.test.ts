import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LizardsHttpError, type LizardsError } from '../src/errors.js';
import { PriceSubscription, type PriceSubscriptionOptions } from '../src/live/price-subscription.js';
import { FakeSocket } from './support/fake-socket.js';

/** Lets queued microtasks and resolved promises run (the session call, the first connect). */
const settle = () => vi.advanceTimersByTimeAsync(0);

interface Recorded {
  events: [string, unknown][];
  errors: LizardsError[];
}

function subscribe(symbols: string[], opts: Partial<PriceSubscriptionOptions> = {}) {
  let sessions = 0;
  const sub = new PriceSubscription(symbols, {
    openSession: async () => `ws://gateway.test/ws?token=t${++sessions}`,
    WebSocket: FakeSocket,
    backoff: { initialMs: 100, maxMs: 1000 },
    random: () => 1,
    ...opts,
  });
  const recorded: Recorded = { events: [], errors: [] };
  for (const name of [
    'state',
    'price',
    'snapshot',
    'provisional',
    'stored',
    'subscribed',
    'unsubscribed',
    'stale',
    'reconnecting',
  ] as const) {
    sub.on(name, (...args: unknown[]) => recorded.events.push([name, args.length === 1 ? args[0] : args]));
  }
  sub.on('error', (err) => recorded.errors.push(err));
  const of = (name: string) => recorded.events.filter(([n]) => n === name).map(([, v]) => v);
  return { sub, recorded, of, sessions: () => sessions };
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.made = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('PriceSubscription: messages', () => {
  it('when the socket opens, then it subscribes to every symbol once, upper-cased, without a cursor', async () => {
    const { sub, of } = subscribe(['aapl', 'TSLA', ' aapl ']);
    await settle();
    expect(FakeSocket.last.url).toBe('ws://gateway.test/ws?token=t1');
    FakeSocket.last.open();
    expect(FakeSocket.last.sent).toEqual([{ type: 'subscribe', symbols: ['AAPL', 'TSLA'] }]);
    expect(sub.state).toBe('open');
    expect(of('state')).toEqual([
      ['connecting', 'opening a session'],
      ['open', 'connected'],
    ]);
    sub.close();
  });

  it(
    'when snapshots, stored prices, provisional prices and stored notices arrive, then each has its event and ' +
      'only stored ones move the cursor',
    async () => {
      const { sub, of } = subscribe(['AAPL', 'TSLA']);
      await settle();
      const socket = FakeSocket.last;
      socket.open();
      socket.receive({ type: 'subscribed', symbols: ['AAPL', 'TSLA'], rejected: [] });
      socket.receive({
        type: 'price_update',
        snapshot: true,
        data: { AAPL: { price: 1, timestamp: '2024-09-14T12:00:00Z', source: 'simulated' } },
      });
      expect(sub.cursor).toBeUndefined();
      socket.receive({
        type: 'price_update',
        data: {
          AAPL: { price: 2, timestamp: '2024-09-14T12:00:01Z', source: 'simulated' },
          TSLA: { price: 3, timestamp: '2024-09-14T12:00:01Z' },
        },
        cursor: '12',
      });
      expect(sub.cursor).toBe('12');
      socket.receive({
        type: 'price_update',
        data: { AAPL: { price: 4, timestamp: '2024-09-14T12:00:02Z', source: 'grpc', provisional: true } },
      });
      expect(sub.cursor).toBe('12');
      socket.receive({
        type: 'stored',
        ticks: [{ symbol: 'AAPL', timestamp: '2024-09-14T12:00:02Z', source: 'grpc' }],
        cursor: '13',
      });
      expect(sub.cursor).toBe('13');

      expect(of('subscribed')).toEqual([{ symbols: ['AAPL', 'TSLA'], rejected: [] }]);
      expect(of('snapshot')).toEqual([
        { symbol: 'AAPL', price: 1, timestamp: '2024-09-14T12:00:00Z', source: 'simulated' },
      ]);
      expect(of('price')).toEqual([
        { symbol: 'AAPL', price: 2, timestamp: '2024-09-14T12:00:01Z', source: 'simulated', cursor: '12' },
        { symbol: 'TSLA', price: 3, timestamp: '2024-09-14T12:00:01Z', cursor: '12' },
      ]);
      expect(of('provisional')).toEqual([
        { symbol: 'AAPL', price: 4, timestamp: '2024-09-14T12:00:02Z', source: 'grpc' },
      ]);
      expect(of('stored')).toEqual([
        { ticks: [{ symbol: 'AAPL', timestamp: '2024-09-14T12:00:02Z', source: 'grpc' }], cursor: '13' },
      ]);
      sub.close();
    },
  );

  it('when a message carries an older cursor than one already seen, then the cursor does not go back', async () => {
    const { sub } = subscribe(['AAPL']);
    await settle();
    FakeSocket.last.open();
    FakeSocket.last.receive({
      type: 'price_update',
      data: { AAPL: { price: 1, timestamp: '2024-09-14T12:00:01Z' } },
      cursor: '100',
    });
    FakeSocket.last.receive({ type: 'stored', ticks: [], cursor: '99' });
    // Compared as numbers, not as strings ("99" > "100" as text).
    expect(sub.cursor).toBe('100');
    sub.close();
  });

  it('when the server rejects a symbol, then it is dropped and never asked for again', async () => {
    const { sub, of } = subscribe(['AAPL', 'XYZ123']);
    await settle();
    FakeSocket.last.open();
    FakeSocket.last.receive({ type: 'error', message: 'Invalid stock symbol: XYZ123' });
    FakeSocket.last.receive({
      type: 'subscribed',
      symbols: ['AAPL'],
      rejected: [{ symbol: 'XYZ123', reason: 'unknown symbol' }],
    });
    expect(sub.symbols).toEqual(['AAPL']);
    expect(of('subscribed')).toEqual([
      { symbols: ['AAPL'], rejected: [{ symbol: 'XYZ123', reason: 'unknown symbol' }] },
    ]);
    FakeSocket.last.drop();
    await vi.advanceTimersByTimeAsync(100);
    FakeSocket.last.open();
    expect(FakeSocket.last.sent).toEqual([{ type: 'subscribe', symbols: ['AAPL'] }]);
    sub.close();
  });

  it(
    'when the server sends its error message, then an error with code LZ_ERR_CLIENT_SERVER is emitted and the ' +
      'stream goes on',
    async () => {
      const { sub, recorded, of } = subscribe(['AAPL']);
      await settle();
      FakeSocket.last.open();
      FakeSocket.last.receive({
        type: 'error',
        message: 'Cannot resume from 5: more than 10000 ticks missed; sending the latest prices instead',
      });
      FakeSocket.last.receive({
        type: 'price_update',
        data: { AAPL: { price: 1, timestamp: '2024-09-14T12:00:01Z' } },
        cursor: '7',
      });
      expect(recorded.errors.map((e) => [e.code, e.message])).toEqual([
        [
          'LZ_ERR_CLIENT_SERVER',
          'Cannot resume from 5: more than 10000 ticks missed; sending the latest prices instead',
        ],
      ]);
      expect(of('price')).toHaveLength(1);
      sub.close();
    },
  );

  it(
    'when a message is not JSON, has no type or the wrong shape, then an LZ_ERR_CLIENT_BAD_MESSAGE error is ' +
      'emitted and nothing else; an unknown type is ignored',
    async () => {
      const { sub, recorded, of } = subscribe(['AAPL']);
      await settle();
      const socket = FakeSocket.last;
      socket.open();
      socket.receive('{"type":"price_update",');
      socket.receive({ kind: 'price_update' });
      socket.receive({
        type: 'price_update',
        data: { AAPL: { price: '150.23', timestamp: '2024-09-14T12:00:01Z' } },
        cursor: '3',
      });
      socket.receive({ type: 'stored', ticks: [], cursor: 'abc' });
      socket.receive({ type: 'price_update', data: { AAPL: { price: 1, timestamp: '2024-09-14T12:00:01Z' } } });
      socket.onmessage?.({ data: new Uint8Array([1, 2]) });
      socket.receive({ type: 'heartbeat', at: 1 });
      expect(recorded.errors.map((e) => e.code)).toEqual(Array(6).fill('LZ_ERR_CLIENT_BAD_MESSAGE'));
      expect(recorded.errors[2]!.message).toContain('/data/AAPL/price');
      expect(of('price')).toEqual([]);
      expect(sub.cursor).toBeUndefined();
      expect(sub.state).toBe('open');
      sub.close();
    },
  );

  it(
    'when a newer server adds properties to the messages this client knows, then they are read as before and ' +
      'the additions ignored',
    async () => {
      const { sub, recorded, of } = subscribe(['AAPL']);
      await settle();
      const socket = FakeSocket.last;
      socket.open();
      socket.receive({ type: 'subscribed', symbols: ['AAPL'], rejected: [], limit: 50 });
      socket.receive({
        type: 'price_update',
        data: { AAPL: { price: 2, timestamp: '2024-09-14T12:00:01Z', source: 'simulated', volume: 300 } },
        cursor: '12',
        server_time: '2024-09-14T12:00:01.200Z',
      });
      socket.receive({ type: 'stale', symbol: 'AAPL', since: '2024-09-14T12:00:01Z', quiet_ms: 60_000 });
      expect(recorded.errors).toEqual([]);
      expect(of('subscribed')).toEqual([{ symbols: ['AAPL'], rejected: [] }]);
      expect(of('price')).toEqual([
        { symbol: 'AAPL', price: 2, timestamp: '2024-09-14T12:00:01Z', source: 'simulated', cursor: '12' },
      ]);
      expect(of('stale')).toEqual([{ symbol: 'AAPL', since: '2024-09-14T12:00:01Z' }]);
      expect(sub.cursor).toBe('12');
      sub.close();
    },
  );

  it(
    'when a known property has the wrong type, then an LZ_ERR_CLIENT_BAD_MESSAGE error names it and the message ' +
      'has no effect, added properties or not',
    async () => {
      const { sub, recorded, of } = subscribe(['AAPL']);
      await settle();
      const socket = FakeSocket.last;
      socket.open();
      socket.receive({ type: 'stale', symbol: 'AAPL', since: 1726315201000, quiet_ms: 60_000 });
      socket.receive({ type: 'subscribed', symbols: ['AAPL'], rejected: [{ symbol: 'X', reason: 42 }] });
      expect(recorded.errors.map((e) => e.code)).toEqual(['LZ_ERR_CLIENT_BAD_MESSAGE', 'LZ_ERR_CLIENT_BAD_MESSAGE']);
      expect(recorded.errors[0]!.message).toContain('/since');
      expect(recorded.errors[1]!.message).toContain('/rejected/0/reason');
      expect(of('stale')).toEqual([]);
      expect(of('subscribed')).toEqual([]);
      sub.close();
    },
  );

  it(
    'when a symbol is unsubscribed, then its prices still in flight are not emitted, the cursor still moves, ' +
      'and its stale notices are dropped',
    async () => {
      const { sub, of } = subscribe(['AAPL', 'TSLA']);
      await settle();
      const socket = FakeSocket.last;
      socket.open();
      sub.unsubscribe(['aapl']);
      expect(socket.sent.at(-1)).toEqual({ type: 'unsubscribe', symbols: ['AAPL'] });
      socket.receive({
        type: 'price_update',
        data: {
          AAPL: { price: 1, timestamp: '2024-09-14T12:00:01Z' },
          TSLA: { price: 2, timestamp: '2024-09-14T12:00:01Z' },
        },
        cursor: '20',
      });
      socket.receive({ type: 'stale', symbol: 'AAPL', since: '2024-09-14T12:00:01Z' });
      socket.receive({ type: 'unsubscribed', symbols: ['AAPL'] });
      expect(of('price')).toEqual([{ symbol: 'TSLA', price: 2, timestamp: '2024-09-14T12:00:01Z', cursor: '20' }]);
      expect(of('stale')).toEqual([]);
      expect(of('unsubscribed')).toEqual([{ symbols: ['AAPL'] }]);
      expect(sub.cursor).toBe('20');
      sub.close();
    },
  );

  it(
    'when a symbol is added on an open socket, then only it ' + 'is subscribed, and a stale notice for it is emitted',
    async () => {
      const { sub, of } = subscribe(['AAPL']);
      await settle();
      FakeSocket.last.open();
      sub.subscribe(['AAPL', 'msft']);
      expect(FakeSocket.last.sent.at(-1)).toEqual({ type: 'subscribe', symbols: ['MSFT'] });
      FakeSocket.last.receive({ type: 'stale', symbol: 'MSFT', since: '2024-09-14T12:00:01Z' });
      expect(of('stale')).toEqual([{ symbol: 'MSFT', since: '2024-09-14T12:00:01Z' }]);
      sub.close();
    },
  );
});

describe('PriceSubscription: reconnects', () => {
  it(
    'when the socket is lost, then after the back-off it takes a new session and resumes the acknowledged ' +
      'symbols from the cursor',
    async () => {
      const { sub, of, sessions } = subscribe(['AAPL', 'TSLA']);
      await settle();
      const first = FakeSocket.last;
      first.open();
      first.receive({ type: 'subscribed', symbols: ['AAPL', 'TSLA'], rejected: [] });
      first.receive({
        type: 'price_update',
        data: { AAPL: { price: 1, timestamp: '2024-09-14T12:00:01Z' } },
        cursor: '41',
      });
      first.drop(1012, 'upstream went away');

      expect(sub.state).toBe('reconnecting');
      expect(of('reconnecting')).toEqual([{ attempt: 1, delayMs: 100, reason: 'upstream went away' }]);
      await vi.advanceTimersByTimeAsync(99);
      expect(FakeSocket.made).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1);
      expect(sessions()).toBe(2);
      const second = FakeSocket.last;
      expect(second).not.toBe(first);
      expect(second.url).toBe('ws://gateway.test/ws?token=t2');
      second.open();
      expect(second.sent).toEqual([{ type: 'subscribe', symbols: ['AAPL', 'TSLA'], since: '41' }]);
      expect(sub.reconnects).toBe(1);
      expect(of('state').at(-1)).toEqual(['open', 'resumed after cursor 41']);
      // A late message from the old socket is not taken for the new one's.
      first.receive({
        type: 'price_update',
        data: { AAPL: { price: 9, timestamp: '2024-09-14T12:00:09Z' } },
        cursor: '99',
      });
      expect(sub.cursor).toBe('41');
      sub.close();
    },
  );

  it(
    'when a symbol was added but not acknowledged before the loss, then the reconnect subscribes it apart, ' +
      'without since (a snapshot, not a replay)',
    async () => {
      const { sub } = subscribe(['AAPL']);
      await settle();
      FakeSocket.last.open();
      FakeSocket.last.receive({ type: 'subscribed', symbols: ['AAPL'], rejected: [] });
      FakeSocket.last.receive({
        type: 'price_update',
        data: { AAPL: { price: 1, timestamp: '2024-09-14T12:00:01Z' } },
        cursor: '5',
      });
      FakeSocket.last.drop();
      sub.subscribe(['NVDA']);
      await vi.advanceTimersByTimeAsync(100);
      FakeSocket.last.open();
      expect(FakeSocket.last.sent).toEqual([
        { type: 'subscribe', symbols: ['AAPL'], since: '5' },
        { type: 'subscribe', symbols: ['NVDA'] },
      ]);
      sub.close();
    },
  );

  it(
    'when reconnects keep failing, then the delays double up to the maximum, and an acknowledged subscription ' +
      'starts them over',
    async () => {
      const { sub, of } = subscribe(['AAPL']);
      await settle();
      for (let i = 0; i < 6; i++) {
        FakeSocket.last.drop();
        await vi.advanceTimersByTimeAsync(1000);
      }
      expect(of('reconnecting').map((r) => (r as { delayMs: number }).delayMs)).toEqual([
        100, 200, 400, 800, 1000, 1000,
      ]);
      FakeSocket.last.open();
      FakeSocket.last.receive({ type: 'subscribed', symbols: ['AAPL'], rejected: [] });
      FakeSocket.last.drop();
      expect(of('reconnecting').at(-1) as { attempt: number; delayMs: number }).toEqual({
        attempt: 1,
        delayMs: 100,
        reason: 'closed (1006)',
      });
      sub.close();
    },
  );

  it('when POST /session answers 429 with Retry-After, then the next attempt waits at least that long', async () => {
    let calls = 0;
    const { sub, recorded, of } = subscribe(['AAPL'], {
      openSession: async () => {
        if (++calls === 1)
          throw new LizardsHttpError(
            429,
            'POST /session answered 429: Too Many Requests',
            'FST_ERR_RATE_LIMITED',
            3000,
          );
        return 'ws://gateway.test/ws?token=ok';
      },
    });
    await settle();
    expect(recorded.errors.map((e) => e.code)).toEqual(['LZ_ERR_CLIENT_SESSION']);
    expect(of('reconnecting')).toEqual([
      { attempt: 1, delayMs: 3000, reason: 'session failed: POST /session answered 429: Too Many Requests' },
    ]);
    await vi.advanceTimersByTimeAsync(2999);
    expect(FakeSocket.made).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeSocket.last.url).toBe('ws://gateway.test/ws?token=ok');
    sub.close();
  });

  it(
    'when a socket does not open within connectTimeoutMs, ' + 'then it is given up and another session is taken',
    async () => {
      const { sub, recorded, sessions } = subscribe(['AAPL'], { connectTimeoutMs: 2000 });
      await settle();
      const stuck = FakeSocket.last;
      await vi.advanceTimersByTimeAsync(2000);
      expect(stuck.closedWith).toBeDefined();
      expect(recorded.errors.map((e) => [e.code, e.message])).toEqual([
        ['LZ_ERR_CLIENT_SOCKET', 'the socket did not open in time'],
      ]);
      await vi.advanceTimersByTimeAsync(100);
      expect(sessions()).toBe(2);
      expect(FakeSocket.last).not.toBe(stuck);
      sub.close();
    },
  );

  it('when the server says it shuts down, then the state says so and the close that follows reconnects', async () => {
    const { sub } = subscribe(['AAPL']);
    await settle();
    FakeSocket.last.open();
    FakeSocket.last.receive({ type: 'reconnect', reason: 'shutdown' });
    expect(sub.state).toBe('reconnecting');
    FakeSocket.last.drop(1001, 'server shutting down');
    await vi.advanceTimersByTimeAsync(100);
    expect(FakeSocket.made).toHaveLength(2);
    sub.close();
  });

  it(
    'when it is closed, then the socket is closed with 1000 and nothing reconnects, even with a session call ' +
      'under way',
    async () => {
      const { sub, of, sessions } = subscribe(['AAPL']);
      await settle();
      FakeSocket.last.open();
      sub.close();
      expect(FakeSocket.last.closedWith).toBe(1000);
      expect(sub.state).toBe('closed');
      FakeSocket.last.drop(1000);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(FakeSocket.made).toHaveLength(1);
      expect(sessions()).toBe(1);
      expect(of('reconnecting')).toEqual([]);
    },
  );

  it('when started with since, then the first subscribe resumes from it', async () => {
    const { sub } = subscribe(['AAPL'], { since: '1234' });
    await settle();
    FakeSocket.last.open();
    expect(FakeSocket.last.sent).toEqual([{ type: 'subscribe', symbols: ['AAPL'], since: '1234' }]);
    expect(() => subscribe(['AAPL'], { since: '12a' })).toThrow(TypeError);
    sub.close();
  });
});
