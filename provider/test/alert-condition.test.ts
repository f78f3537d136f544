import { describe, expect, it } from 'vitest';
import { AlertTest } from '../src/hub/alert-condition.js';
import type { StoredTick } from '../src/ticks/tick-schema.js';

let seq = 0;
/** A stored tick `atS` seconds after a fixed instant. */
const tick = (price: number, atS: number): StoredTick => ({
  symbol: 'AAPL',
  price,
  timestamp: new Date(Date.UTC(2024, 8, 14, 12) + atS * 1000),
  source: 'simulated',
  volume: null,
  seq: String(++seq),
  publishedAt: null,
});
const firesAt = (test: AlertTest, ticks: StoredTick[]) => ticks.findIndex((t) => test.check(t).fired);

describe('AlertTest', () => {
  it(
    'when a level alert is fed prices, then it fires at the first at or past the level, also one already past ' + 'it',
    () => {
      expect(firesAt(new AlertTest({ above: 230 }), [tick(229.99, 0), tick(230, 1), tick(231, 2)])).toBe(1);
      expect(firesAt(new AlertTest({ below: 100 }), [tick(101, 0), tick(100.01, 1), tick(99, 2)])).toBe(2);
      expect(firesAt(new AlertTest({ above: 10 }), [tick(50, 0)])).toBe(0);
    },
  );

  it('when change_pct is fed prices, then each is compared with the first inside the window, by tick time', () => {
    const test = new AlertTest({ change_pct: 10, window_s: 60 });
    // +10 % against 100 would fire at 110, but 100 is more than 60 s before it: the reference is then 105.
    expect(test.check(tick(100, 0)).fired).toBe(false);
    expect(test.check(tick(105, 30)).fired).toBe(false);
    expect(test.check(tick(110, 61)).fired).toBe(false);
    const reference = { price: 105, timestamp: tick(0, 30).timestamp };
    expect(test.check(tick(115.5, 80))).toEqual({ fired: true, reference });
  });

  it('when change_pct is negative, then it fires on a fall of at least that much and never on a rise', () => {
    const test = new AlertTest({ change_pct: -5, window_s: 300 });
    const fired = [tick(100, 0), tick(200, 1), tick(96, 2), tick(95, 3)].map((t) => test.check(t).fired);
    expect(fired).toEqual([false, false, false, true]);
  });
});
