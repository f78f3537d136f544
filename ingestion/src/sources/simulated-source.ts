import type { PolledSourceId } from '../ticks/tick.js';
import { SimulatedMarket } from './simulated-market.js';
import type { FetchedDocument, ParsedDocument, Source, SourceRequest } from './source.js';

export const SIMULATED_URL = 'simulated://market';

export interface SimulatedSourceOptions {
  seed: number;
  tickMs: number;
  symbols: readonly string[];
  now?: () => number;
}

interface SimulatedBody {
  seed: number;
  quotes: { symbol: string; price: number; timestamp: string; volume: number }[];
}

/** The default source: a seeded in-process market, one quote per symbol per tick; its "documents" are JSON. */
export class SimulatedSource implements Source {
  readonly id: PolledSourceId = 'simulated';
  readonly baseUrl = SIMULATED_URL;
  readonly intervalMs: number;
  readonly symbols: readonly string[];
  readonly market: SimulatedMarket;
  private readonly now: () => number;

  constructor(opts: SimulatedSourceOptions) {
    this.intervalMs = opts.tickMs;
    this.symbols = opts.symbols;
    this.market = new SimulatedMarket(opts.seed, opts.tickMs);
    this.now = opts.now ?? Date.now;
  }

  plan(symbols: readonly string[]): SourceRequest[] {
    return symbols.length > 0 ? [{ url: SIMULATED_URL, symbols: [...symbols] }] : [];
  }

  async fetch(request: SourceRequest): Promise<FetchedDocument> {
    const fetchedAt = new Date(this.now());
    const timestamp = fetchedAt.toISOString();
    const body: SimulatedBody = {
      seed: this.market.seed,
      quotes: this.market.next(request.symbols).map((q) => ({ ...q, timestamp })),
    };
    return {
      source: this.id,
      url: SIMULATED_URL,
      fetchedAt,
      status: 200,
      contentType: 'application/json',
      body: JSON.stringify(body),
    };
  }

  parse(document: FetchedDocument): ParsedDocument {
    const body = JSON.parse(document.body) as SimulatedBody;
    return { candidates: body.quotes.map((q) => ({ ...q, source: this.id })), problems: [] };
  }
}
