import { describe, expect, it } from 'vitest';
import { SimulatedMarket } from '../src/sources/simulated-market.js';
import { SimulatedSource } from '../src/sources/simulated-source.js';
import { US_EQUITIES, US_EQUITY_SYMBOLS } from '../src/sources/us-equities.js';
import { transformAndValidate } from '../src/ticks/tick-schema.js';

const path = (market: SimulatedMarket, symbols: readonly string[], steps: number): number[][] =>
  Array.from({ length: steps }, () => market.next(symbols).map((q) => q.price));

describe('the simulated market', () => {
  it('when two markets share a seed, then they produce the same prices and volumes', () => {
    const a = new SimulatedMarket(42, 1000);
    const b = new SimulatedMarket(42, 1000);
    for (let i = 0; i < 200; i++) expect(a.next(US_EQUITY_SYMBOLS)).toEqual(b.next(US_EQUITY_SYMBOLS));
  });

  it('when the seeds differ, then the paths differ', () => {
    expect(path(new SimulatedMarket(1, 1000), ['AAPL'], 50)).not.toEqual(
      path(new SimulatedMarket(2, 1000), ['AAPL'], 50),
    );
  });

  it(
    "when symbols are asked for in other groupings, then a symbol's path depends only on the seed and its own " +
      'steps',
    () => {
      const alone = path(new SimulatedMarket(9, 1000), ['MSFT'], 30).map((p) => p[0]);
      const together = path(new SimulatedMarket(9, 1000), ['AAPL', 'MSFT', 'TSLA'], 30).map((p) => p[1]);
      expect(together).toEqual(alone);
    },
  );

  it('when it starts, then the universe has at least 50 real US tickers with plausible prices and volatilities', () => {
    expect(US_EQUITIES.length).toBeGreaterThanOrEqual(50);
    expect(new Set(US_EQUITY_SYMBOLS).size).toBe(US_EQUITY_SYMBOLS.length);
    for (const e of US_EQUITIES) {
      expect(e.symbol).toMatch(/^[A-Z][A-Z0-9.-]{0,9}$/);
      expect(e.price).toBeGreaterThan(5);
      expect(e.price).toBeLessThan(2000);
      expect(e.volatility).toBeGreaterThan(0.1);
      expect(e.volatility).toBeLessThan(0.8);
    }
    expect(US_EQUITY_SYMBOLS).toEqual(
      expect.arrayContaining(['AAPL', 'MSFT', 'GOOGL', 'AMZN', 'TSLA', 'NVDA', 'META']),
    );
  });

  it(
    'when it runs a simulated session, then log returns match each stock’s volatility and prices stay positive ' +
      'and close to the start',
    () => {
      const stepMs = 1000;
      const market = new SimulatedMarket(42, stepMs);
      const symbols = ['AAPL', 'TSLA', 'KO'];
      const steps = 23_400; // one 6.5-hour session of 1-second ticks
      const prices = path(market, symbols, steps);
      symbols.forEach((symbol, j) => {
        const profile = market.profile(symbol);
        const series = prices.map((p) => p[j]!);
        expect(Math.min(...series)).toBeGreaterThan(0);
        // one-minute returns: long enough that rounding to cents does not blur the volatility
        const minutes = series.filter((_, i) => i % 60 === 0);
        const returns = minutes.slice(1).map((p, i) => Math.log(p / minutes[i]!));
        const mean = returns.reduce((s, r) => s + r, 0) / returns.length;
        const sd = Math.sqrt(returns.reduce((s, r) => s + (r - mean) ** 2, 0) / returns.length);
        const annualised = sd * Math.sqrt((252 * 6.5 * 3600 * 1000) / (60 * stepMs));
        expect(annualised).toBeGreaterThan(profile.volatility * 0.8);
        expect(annualised).toBeLessThan(profile.volatility * 1.2);
        // one session moves a large cap by a few percent, not by half
        expect(Math.abs(series.at(-1)! / profile.price - 1)).toBeLessThan(0.15);
      });
    },
  );

  it('when a ticker is not in the built-in universe, then it still gets a plausible, deterministic path', () => {
    const a = new SimulatedMarket(5, 1000).next(['ZZZZ'])[0]!;
    const b = new SimulatedMarket(5, 1000).next(['ZZZZ'])[0]!;
    expect(a).toEqual(b);
    expect(a.price).toBeGreaterThan(1);
  });
});

describe('the simulated source', () => {
  it('when it is fetched, then its document parses into valid ticks stamped with the fetch time', async () => {
    const now = Date.parse('2024-09-16T14:00:00Z');
    const source = new SimulatedSource({ seed: 42, tickMs: 500, symbols: US_EQUITY_SYMBOLS, now: () => now });
    const [request] = source.plan(source.symbols);
    const document = await source.fetch(request!);
    expect(document).toMatchObject({ source: 'simulated', url: 'simulated://market', status: 200 });
    const parsed = source.parse(document);
    const { accepted, rejections } = transformAndValidate(parsed.candidates, 'simulated', {
      maxFutureSkewMs: 0,
      now: () => now,
    });
    expect(rejections).toEqual([]);
    expect(accepted).toHaveLength(US_EQUITY_SYMBOLS.length);
    expect(accepted[0]).toMatchObject({ symbol: 'AAPL', source: 'simulated', timestamp: '2024-09-16T14:00:00.000Z' });
    expect(accepted.every((t) => Number.isInteger(t.volume) && t.volume! > 0)).toBe(true);
  });
});
