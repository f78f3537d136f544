import type { StoredTick } from '../ticks/tick-schema.js';
import type { AlertCondition } from '@lizards/contract';

/** The price a `change_pct` alert compared with: the first stored tick inside its window. */
export interface AlertReference {
  price: number;
  timestamp: Date;
}

/**
 * One alert's test, fed the stored ticks of its symbol in seq order. `above`/`below` are levels: the first tick at
 * or above (at or below) it fires, also when the price was already past it when the alert was set. `change_pct`
 * compares each tick with the first tick this test was fed whose timestamp lies within `window_s` seconds before
 * the tick's own (tick time, not wall-clock time, so a replay decides the same); ticks stored before the alert was
 * set (or before the cursor it resumed from) are not in its window.
 */
export class AlertTest {
  /** `change_pct` only: the ticks fed so far that may still fall in a window, oldest first. */
  private readonly window: AlertReference[] = [];

  constructor(readonly condition: AlertCondition) {}

  /** Whether `tick` fires the alert; for `change_pct`, with the reference it was compared with. */
  check(tick: StoredTick): { fired: false } | { fired: true; reference?: AlertReference } {
    const c = this.condition;
    if ('above' in c) return { fired: tick.price >= c.above };
    if ('below' in c) return { fired: tick.price <= c.below };
    const from = tick.timestamp.getTime() - c.window_s * 1000;
    while (this.window.length > 0 && this.window[0]!.timestamp.getTime() <= from) this.window.shift();
    this.window.push({ price: tick.price, timestamp: tick.timestamp });
    const reference = this.window[0]!;
    const change = ((tick.price - reference.price) / reference.price) * 100;
    const fired = c.change_pct > 0 ? change >= c.change_pct : change <= c.change_pct;
    return fired ? { fired, reference } : { fired };
  }
}
