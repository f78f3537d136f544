import type { PolledSourceId } from '../ticks/tick.js';
import type { HttpFetcher } from './http-fetcher.js';
import type { FetchedDocument, ParsedDocument, Source, SourceRequest } from './source.js';

export interface HttpSourceOptions {
  baseUrl: string;
  intervalMs: number;
  symbols: readonly string[];
  fetcher: HttpFetcher;
}

/** What the HTTP sources share: a base URL, an interval, a symbol list and the fetcher. */
export abstract class HttpSource implements Source {
  abstract readonly id: PolledSourceId;
  readonly baseUrl: string;
  readonly intervalMs: number;
  readonly symbols: readonly string[];
  protected readonly fetcher: HttpFetcher;

  constructor(opts: HttpSourceOptions) {
    this.baseUrl = opts.baseUrl;
    this.intervalMs = opts.intervalMs;
    this.symbols = opts.symbols;
    this.fetcher = opts.fetcher;
  }

  abstract plan(symbols: readonly string[]): SourceRequest[];
  abstract parse(document: FetchedDocument, request: SourceRequest): ParsedDocument;

  fetch(request: SourceRequest, signal: AbortSignal): Promise<FetchedDocument> {
    return this.fetcher.get(this.id, request.url, signal, this.headers());
  }

  /** Extra request headers (e.g. an API key sent as a header, which keeps it out of the URL). */
  protected headers(): Record<string, string> {
    return {};
  }
}

/** Splits a list into chunks of at most `size`. */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Share-class tickers are written BRK.B here and BRK-B by Yahoo, Alpha Vantage and Stooq. */
export const toDashedClass = (symbol: string): string => symbol.replace(/^([A-Z]+)\.([A-Z])$/, '$1-$2');
export const fromDashedClass = (symbol: string): string => symbol.toUpperCase().replace(/^([A-Z]+)-([A-Z])$/, '$1.$2');

/** Parses JSON, or returns undefined for a body that is not JSON. */
export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
