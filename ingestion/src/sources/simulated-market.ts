import { mulberry32 } from '@lizards/lib';
import { US_EQUITIES, type EquityProfile } from './us-equities.js';

/** Milliseconds of trading in a year (252 sessions of 6.5 hours): the GBM clock. */
const TRADING_YEAR_MS = 252 * 6.5 * 3600 * 1000;
const ANNUAL_DRIFT = 0.07;

export interface SimulatedQuote {
  symbol: string;
  price: number;
  volume: number;
}

/** 32-bit FNV-1a, to turn a seed and a symbol into a PRNG seed. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class SymbolWalk {
  private price: number;
  private spare: number | undefined;

  constructor(
    private readonly profile: EquityProfile,
    private readonly random: () => number,
  ) {
    this.price = profile.price;
  }

  /** One geometric-Brownian-motion step of `dtMs` of trading time. */
  step(dtMs: number): SimulatedQuote {
    const dt = dtMs / TRADING_YEAR_MS;
    const sigma = this.profile.volatility;
    const z = this.gaussian();
    this.price *= Math.exp((ANNUAL_DRIFT - 0.5 * sigma * sigma) * dt + sigma * Math.sqrt(dt) * z);
    const expected = this.profile.volumePerSecond * (dtMs / 1000);
    const volume = Math.max(1, Math.round(expected * Math.exp(0.5 * this.gaussian() - 0.125)));
    return { symbol: this.profile.symbol, price: roundPrice(this.price), volume };
  }

  /** Box–Muller, keeping the second value for the next call. */
  private gaussian(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    const u = 1 - this.random();
    const v = this.random();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function roundPrice(price: number): number {
  const places = price < 1 ? 4 : 2;
  const f = 10 ** places;
  return Math.max(1 / f, Math.round(price * f) / f);
}

/** A profile for a ticker outside the built-in universe: a plausible price and volatility derived from its name. */
function syntheticProfile(symbol: string): EquityProfile {
  const h = fnv1a(`profile:${symbol}`);
  return { symbol, price: 20 + (h % 48_000) / 100, volatility: 0.2 + ((h >>> 16) % 30) / 100, volumePerSecond: 300 };
}

/**
 * A seeded market: each symbol follows its own GBM driven by its own PRNG stream derived from (seed, symbol),
 * so the price path of a symbol depends only on the seed and how many steps it took, not on the other symbols.
 */
export class SimulatedMarket {
  private readonly walks = new Map<string, SymbolWalk>();
  private readonly profiles: Map<string, EquityProfile>;

  constructor(
    readonly seed: number,
    readonly stepMs: number,
    profiles: readonly EquityProfile[] = US_EQUITIES,
  ) {
    this.profiles = new Map(profiles.map((p) => [p.symbol, p]));
  }

  profile(symbol: string): EquityProfile {
    return this.profiles.get(symbol) ?? syntheticProfile(symbol);
  }

  /** Advances each given symbol by one step and returns its new quote. */
  next(symbols: readonly string[]): SimulatedQuote[] {
    return symbols.map((symbol) => {
      let walk = this.walks.get(symbol);
      if (!walk) {
        walk = new SymbolWalk(this.profile(symbol), mulberry32(fnv1a(`${this.seed}:${symbol}`)));
        this.walks.set(symbol, walk);
      }
      return walk.step(this.stepMs);
    });
  }
}
