import { describe, expect, it } from 'vitest';
import { DEFAULT_BACKOFF, equalJitterDelay } from '../src/live/backoff.js';

describe('equalJitterDelay', () => {
  it('when attempts follow each other, then the ceiling doubles from initialMs up to maxMs', () => {
    const opts = { initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 5, 30, 5000].map((a) => equalJitterDelay(a, opts, () => 1))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000, 1000,
    ]);
  });

  it('when the random part is at its ends, then the delay is half the ceiling or the whole of it', () => {
    expect(equalJitterDelay(2, { initialMs: 100, maxMs: 1000 }, () => 0)).toBe(200);
    expect(equalJitterDelay(2, { initialMs: 100, maxMs: 1000 }, () => 0.999999)).toBeCloseTo(400, 3);
    expect(equalJitterDelay(2, { initialMs: 100, maxMs: 1000 }, () => 0.5)).toBe(300);
  });

  it('when Math.random draws, then every delay lies in [ceiling / 2, ceiling] and they spread out', () => {
    const delays = Array.from({ length: 200 }, () => equalJitterDelay(3));
    const ceiling = DEFAULT_BACKOFF.initialMs * 8;
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(ceiling / 2);
      expect(d).toBeLessThanOrEqual(ceiling);
    }
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('when the attempt number is negative, then it counts as the first', () => {
    expect(equalJitterDelay(-3, { initialMs: 100, maxMs: 1000 }, () => 1)).toBe(100);
  });
});
