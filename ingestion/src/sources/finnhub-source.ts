import type { PolledSourceId } from '../ticks/tick.js';
import { HttpSource, parseJson, type HttpSourceOptions } from './http-source.js';
import { joinUrl, statusProblem, type FetchedDocument, type ParsedDocument, type SourceRequest } from './source.js';

interface FinnhubQuote {
  c?: unknown;
  t?: unknown;
  error?: string;
}

/** Finnhub `/quote`, one symbol per request; the API key travels in the X-Finnhub-Token header, never in the URL. */
export class FinnhubSource extends HttpSource {
  readonly id: PolledSourceId = 'finnhub';

  constructor(
    opts: HttpSourceOptions,
    private readonly apiKey: string,
  ) {
    super(opts);
  }

  protected override headers(): Record<string, string> {
    return { 'x-finnhub-token': this.apiKey };
  }

  plan(symbols: readonly string[]): SourceRequest[] {
    return symbols.map((symbol) => ({
      url: `${joinUrl(this.baseUrl, 'quote')}?symbol=${encodeURIComponent(symbol)}`,
      symbols: [symbol],
    }));
  }

  parse(document: FetchedDocument, request: SourceRequest): ParsedDocument {
    const symbol = request.symbols[0] ?? '';
    if (document.body.trim() === '')
      return { candidates: [], problems: [{ reason: 'empty_body', message: 'finnhub returned an empty body' }] };
    const json = parseJson(document.body) as FinnhubQuote | undefined;
    const failed = statusProblem(document);
    if (failed)
      return {
        candidates: [],
        problems: [{ ...failed, ...(json?.error ? { message: `finnhub: ${json.error}` } : {}) }],
      };
    if (!json || typeof json !== 'object')
      return { candidates: [], problems: [{ reason: 'bad_response', message: 'finnhub: body is not JSON' }] };
    if (json.error)
      return { candidates: [], problems: [{ reason: 'bad_response', message: `finnhub: ${json.error}` }] };
    // Finnhub answers an unknown symbol with 200 and a quote of zeros.
    if (json.c === 0 && (json.t === 0 || json.t === null)) {
      return {
        candidates: [],
        problems: [{ reason: 'unknown_symbol', message: `finnhub has no quote for ${symbol}`, symbol }],
      };
    }
    return {
      candidates: [
        {
          symbol,
          price: json.c,
          timestamp: typeof json.t === 'number' ? new Date(json.t * 1000).toISOString() : json.t,
          source: this.id,
        },
      ],
      problems: [],
    };
  }
}
