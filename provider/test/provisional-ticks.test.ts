import { describe, expect, it } from 'vitest';
import { ProvisionalTicks, type CommittedTick } from '../src/hub/provisional-ticks.js';
import type { NewTick } from '../src/ticks/tick-schema.js';

const BASE = Date.parse('2024-09-14T12:00:00.000Z');
const tick = (i: number, symbol = 'AAPL'): NewTick => ({
  symbol,
  price: 100 + i,
  timestamp: new Date(BASE + i * 1000),
  source: 'simulated',
  volume: null,
  publishedAt: null,
});
const committed = (t: NewTick, seq: number): CommittedTick => ({ ...t, seq: String(seq) });

function tracker(maxTicks = 100) {
  let now = 0;
  const ticks = new ProvisionalTicks({ maxLagMs: 500, maxTicks, now: () => now });
  return { ticks, advance: (ms: number) => (now += ms) };
}

describe('provisional ticks', () => {
  it('when a tick is stored within the bound, then it never falls due and its stored version is not marked', () => {
    const { ticks, advance } = tracker();
    ticks.seen([tick(1)]);
    expect(ticks.nextDueIn()).toBe(500);
    advance(100);
    const stored = committed(tick(1), 7);
    ticks.settle([stored]);
    advance(1000);
    expect(ticks.takeDue()).toBeUndefined();
    expect(ticks.nextDueIn()).toBeUndefined();
    expect(stored.previewedIn).toBeUndefined();
  });

  it(
    'when storing takes longer than the bound, then the tick falls due in a round, and its stored version is ' +
      'marked with that round',
    () => {
      const { ticks, advance } = tracker();
      ticks.seen([tick(1), tick(2)]);
      advance(200);
      ticks.seen([tick(3)]);
      advance(300);
      const first = ticks.takeDue()!;
      expect(first.map((t) => t.price)).toEqual([101, 102]);
      expect(ticks.round).toBe(1);
      expect(ticks.nextDueIn()).toBe(200);
      advance(200);
      expect(ticks.takeDue()!.map((t) => [t.price, t.round])).toEqual([[103, 2]]);

      const stored = [committed(tick(2), 10), committed(tick(3), 11)];
      ticks.settle(stored);
      expect(stored.map((t) => t.previewedIn)).toEqual([1, 2]);
      expect(first[1]!.storedAs).toBe('10');
      expect(first[0]!.storedAs).toBeUndefined();
    },
  );

  it('when a tick comes again on the bus (republished, or after its commit), then it is not pushed twice', () => {
    const { ticks, advance } = tracker();
    ticks.seen([tick(1)]);
    ticks.seen([tick(1)]);
    ticks.settle([committed(tick(2), 5)]);
    ticks.seen([tick(2)]);
    advance(500);
    expect(ticks.takeDue()!.map((t) => t.price)).toEqual([101]);
    ticks.seen([tick(1)]);
    advance(500);
    expect(ticks.takeDue()).toBeUndefined();
  });

  it(
    'when more ticks wait than the bound, then the oldest pushed ones are forgotten first, and memory stays ' +
      'bounded',
    () => {
      const { ticks, advance } = tracker(3);
      ticks.seen([tick(1), tick(2)]);
      advance(500);
      expect(ticks.takeDue()).toHaveLength(2);
      ticks.seen([tick(3), tick(4)]);
      const stored = [committed(tick(1), 1), committed(tick(2), 2)];
      ticks.settle(stored);
      // Tick 1 was forgotten to make room: its stored version is an ordinary update; tick 2 is still known.
      expect(stored.map((t) => t.previewedIn)).toEqual([undefined, 1]);
      advance(500);
      expect(ticks.takeDue()!.map((t) => t.price)).toEqual([103, 104]);
    },
  );

  it(
    'when due ticks are found stored already, then the round leaves them out, and a tick seen after the check ' +
      'waits for the next round',
    () => {
      const { ticks, advance } = tracker();
      ticks.seen([tick(1), tick(2)]);
      advance(500);
      const dueBefore = ticks.dueBefore();
      expect(ticks.due(dueBefore).map((t) => t.price)).toEqual([101, 102]);
      ticks.seen([tick(3)]);
      ticks.storedAlready(
        ticks
          .due(dueBefore)
          .filter((t) => t.price === 101)
          .map((t) => t.key),
      );
      advance(600);
      expect(ticks.takeDue(dueBefore)?.map((t) => t.price)).toEqual([102]);
      expect(ticks.takeDue()?.map((t) => t.price)).toEqual([103]);
      // A copy of the one found stored is not taken up again.
      ticks.seen([tick(1)]);
      advance(600);
      expect(ticks.takeDue()).toBeUndefined();
    },
  );
});
