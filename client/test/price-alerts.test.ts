import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AlertTriggered } from '../src/live/alert-book.js';
import { PriceSubscription } from '../src/live/price-subscription.js';
import { FakeSocket } from './support/fake-socket.js';

const settle = () => vi.advanceTimersByTimeAsync(0);

async function open(symbols: string[] = ['AAPL']) {
  const sub = new PriceSubscription(symbols, {
    openSession: async () => 'ws://gateway.test/ws?token=t',
    WebSocket: FakeSocket,
    backoff: { initialMs: 100, maxMs: 1000 },
    random: () => 1,
  });
  const triggered: AlertTriggered[] = [];
  const refused: { id: string; message: string }[] = [];
  sub.on('alert_triggered', (a) => triggered.push(a));
  sub.on('alert_refused', (r) => refused.push(r));
  sub.on('error', () => undefined);
  await settle();
  FakeSocket.last.open();
  FakeSocket.last.receive({ type: 'subscribed', symbols, rejected: [] });
  FakeSocket.last.sent.length = 0;
  return { sub, triggered, refused };
}

/** Drops the socket and opens the next one (after the first back-off step). */
async function reconnect(): Promise<FakeSocket> {
  FakeSocket.last.drop();
  await vi.advanceTimersByTimeAsync(100);
  FakeSocket.last.open();
  return FakeSocket.last;
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeSocket.made = [];
});
afterEach(() => {
  vi.useRealTimers();
});

describe('PriceSubscription.alert', () => {
  it(
    'when an alert is set, then the alert message is sent, and alert_triggered is emitted once and the alert ' +
      'is gone',
    async () => {
      const { sub, triggered } = await open();
      const handle = sub.alert({ id: 'a1', symbol: 'aapl', above: 230 });
      expect(handle).toMatchObject({ id: 'a1', symbol: 'AAPL', condition: { above: 230 } });
      expect(FakeSocket.last.sent).toEqual([{ type: 'alert', id: 'a1', symbol: 'AAPL', above: 230 }]);
      const fired = {
        id: 'a1',
        symbol: 'AAPL',
        price: 231,
        condition: { above: 230 },
        seq: '42',
        timestamp: '2024-09-14T12:00:01Z',
      };
      FakeSocket.last.receive({ type: 'alert_triggered', ...fired });
      FakeSocket.last.receive({ type: 'alert_triggered', ...fired });
      expect(triggered).toEqual([fired]);
      expect(sub.alerts).toEqual([]);
      sub.close();
    },
  );

  it(
    'when the connection is lost, then every alert is set ' + 'again with since = how far the server had checked it',
    async () => {
      const { sub } = await open();
      sub.alert({ id: 'a1', symbol: 'AAPL', below: 100 });
      sub.alert({ id: 'a2', symbol: 'TSLA', change_pct: -5, window_s: 60 });
      const unacked = sub.alert({ symbol: 'MSFT', above: 500 });
      expect(unacked.id).toMatch(/^alert-\d+$/);
      FakeSocket.last.receive({ type: 'alert_set', id: 'a1', symbol: 'AAPL', condition: { below: 100 }, cursor: '10' });
      const condition = { change_pct: -5, window_s: 60 };
      FakeSocket.last.receive({ type: 'alert_set', id: 'a2', symbol: 'TSLA', condition, cursor: '11' });
      // A cursor after the acks: the hub has checked every alert up to it.
      const data = { AAPL: { price: 150, timestamp: '2024-09-14T12:00:01Z' } };
      FakeSocket.last.receive({ type: 'price_update', data, cursor: '20' });

      const next = await reconnect();
      expect(next.sent).toEqual([
        { type: 'alert', id: 'a1', symbol: 'AAPL', below: 100, since: '20' },
        { type: 'alert', id: 'a2', symbol: 'TSLA', change_pct: -5, window_s: 60, since: '20' },
        { type: 'alert', id: unacked.id, symbol: 'MSFT', above: 500 },
        { type: 'subscribe', symbols: ['AAPL'], since: '20' },
      ]);
      // Not acknowledged on this socket yet: a cursor here does not count for them.
      next.receive({ type: 'price_update', data: { AAPL: { ...data.AAPL, price: 151 } }, cursor: '30' });
      const third = await reconnect();
      expect(third.sent.filter((m) => m.type === 'alert').map((m) => m.since)).toEqual(['20', '20', undefined]);
      sub.close();
    },
  );

  it('when an alert is cancelled, then alert_cancel is sent and it is not set again after a reconnect', async () => {
    const { sub } = await open();
    const handle = sub.alert({ id: 'a1', symbol: 'AAPL', above: 1 });
    expect(handle.cancel()).toBe(true);
    expect(sub.cancelAlert('a1')).toBe(false);
    expect(FakeSocket.last.sent.at(-1)).toEqual({ type: 'alert_cancel', id: 'a1' });
    const next = await reconnect();
    expect(next.sent.filter((m) => m.type === 'alert')).toEqual([]);
    sub.close();
  });

  it(
    'when the server refuses an alert (an error with its id), then alert_refused is emitted, and it is ' +
      'cancelled and forgotten',
    async () => {
      const { sub, refused } = await open();
      sub.alert({ id: 'a1', symbol: 'AAPL', above: 1 });
      FakeSocket.last.receive({ type: 'error', message: 'Too many alerts: at most 50 per connection', id: 'a1' });
      expect(refused).toEqual([{ id: 'a1', message: 'Too many alerts: at most 50 per connection' }]);
      expect(FakeSocket.last.sent.at(-1)).toEqual({ type: 'alert_cancel', id: 'a1' });
      expect(sub.alerts).toEqual([]);
      sub.close();
    },
  );

  it('when an alert is replaced, then an ack or trigger of the earlier one is ignored', async () => {
    const { sub, triggered } = await open();
    sub.alert({ id: 'a1', symbol: 'AAPL', above: 10 });
    sub.alert({ id: 'a1', symbol: 'AAPL', above: 20 });
    const earlier = {
      id: 'a1',
      symbol: 'AAPL',
      price: 11,
      condition: { above: 10 },
      seq: '5',
      timestamp: '2024-09-14T12:00:01Z',
    };
    FakeSocket.last.receive({ type: 'alert_triggered', ...earlier });
    expect(triggered).toEqual([]);
    expect(sub.alerts).toEqual([{ id: 'a1', symbol: 'AAPL', condition: { above: 20 } }]);
    sub.close();
  });

  it('when an alert has no condition or two, then alert() throws a TypeError', async () => {
    const { sub } = await open();
    expect(() => sub.alert({ symbol: 'AAPL' } as never)).toThrow(TypeError);
    expect(() => sub.alert({ symbol: 'AAPL', above: 1, below: 2 } as never)).toThrow(TypeError);
    sub.close();
  });
});
