interface Activity {
  /** Wall-clock time of the last tick seen for the symbol. */
  lastAt: number;
  lastTimestamp: Date;
  staleNotified: boolean;
}

/** When each symbol last had a tick, so that its subscribers hear once when it goes quiet (`stale`). */
export class SymbolActivity {
  private readonly last = new Map<string, Activity>();

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number,
  ) {}

  /** Ticks just seen, stored or provisional. */
  seen(ticks: readonly { symbol: string; timestamp: Date }[]): void {
    const at = this.now();
    for (const t of ticks) this.last.set(t.symbol, { lastAt: at, lastTimestamp: t.timestamp, staleNotified: false });
  }

  /** Latest ticks read for a snapshot: they start the clock of symbols with no tick seen yet. */
  known(ticks: readonly { symbol: string; timestamp: Date }[]): void {
    const at = this.now();
    for (const t of ticks) {
      if (this.last.has(t.symbol)) continue;
      this.last.set(t.symbol, { lastAt: at, lastTimestamp: t.timestamp, staleNotified: false });
    }
  }

  /**
   * The symbols among `symbols` quiet for longer than the bound, each once per quiet spell, with the time of
   * their last tick.
   */
  *newlyStale(symbols: Iterable<string>): Generator<[symbol: string, since: Date]> {
    const at = this.now();
    for (const symbol of symbols) {
      const a = this.last.get(symbol);
      if (!a || a.staleNotified || at - a.lastAt < this.staleAfterMs) continue;
      a.staleNotified = true;
      yield [symbol, a.lastTimestamp];
    }
  }
}
