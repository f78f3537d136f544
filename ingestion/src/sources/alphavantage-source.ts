import type { PolledSourceId } from '../ticks/tick.js';
import { fromDashedClass, HttpSource, parseJson, toDashedClass, type HttpSourceOptions } from './http-source.js';
import { joinUrl, statusProblem, type FetchedDocument, type ParsedDocument, type SourceRequest } from './source.js';
import { zonedTimeToUtc } from './zoned-time.js';

type GlobalQuote = Record<string, string | undefined>;

interface GlobalQuoteResponse {
  'Global Quote'?: GlobalQuote;
  Note?: string;
  Information?: string;
  'Error Message'?: string;
}

/** Alpha Vantage GLOBAL_QUOTE, one symbol per request, API key in the query (redacted wherever the URL is kept). */
export class AlphaVantageSource extends HttpSource {
  readonly id: PolledSourceId = 'alphavantage';

  constructor(
    opts: HttpSourceOptions,
    private readonly apiKey: string,
  ) {
    super(opts);
  }

  plan(symbols: readonly string[]): SourceRequest[] {
    return symbols.map((symbol) => ({
      url:
        `${joinUrl(this.baseUrl, 'query')}?function=GLOBAL_QUOTE` +
        `&symbol=${encodeURIComponent(toDashedClass(symbol))}&apikey=${encodeURIComponent(this.apiKey)}`,
      symbols: [symbol],
    }));
  }

  parse(document: FetchedDocument, request: SourceRequest): ParsedDocument {
    const symbol = request.symbols[0];
    const failed = statusProblem(document);
    if (failed) return { candidates: [], problems: [failed] };
    if (document.body.trim() === '')
      return { candidates: [], problems: [{ reason: 'empty_body', message: 'alphavantage returned an empty body' }] };
    const json = parseJson(document.body) as GlobalQuoteResponse | undefined;
    if (!json || typeof json !== 'object')
      return { candidates: [], problems: [{ reason: 'bad_response', message: 'alphavantage: body is not JSON' }] };
    // The free tier answers 200 with a "Note" (per-minute limit) or "Information" (daily limit, premium endpoint).
    const notice = json.Note ?? json.Information;
    if (notice)
      return {
        candidates: [],
        problems: [{ reason: 'rate_limited', message: `alphavantage: ${notice.slice(0, 160)}` }],
      };
    if (json['Error Message']) {
      const reason = /apikey/i.test(json['Error Message']) ? 'auth_failed' : 'unknown_symbol';
      return {
        candidates: [],
        problems: [
          { reason, message: `alphavantage: ${json['Error Message'].slice(0, 160)}`, ...(symbol ? { symbol } : {}) },
        ],
      };
    }
    const quote = json['Global Quote'];
    if (!quote)
      return { candidates: [], problems: [{ reason: 'bad_response', message: 'alphavantage: no "Global Quote"' }] };
    if (Object.keys(quote).length === 0) {
      return {
        candidates: [],
        problems: [
          {
            reason: 'unknown_symbol',
            message: `alphavantage has no quote for ${symbol}`,
            ...(symbol ? { symbol } : {}),
          },
        ],
      };
    }
    const day = quote['07. latest trading day'] ?? '';
    // Only the trading day is given: a quote for a past day is that day's close (16:00 New York); today's is live.
    const close = zonedTimeToUtc(day, '16:00:00', 'America/New_York');
    const at = Number.isNaN(close) ? Number.NaN : Math.min(close, document.fetchedAt.getTime());
    const volume = quote['06. volume'];
    return {
      candidates: [
        {
          symbol: fromDashedClass(quote['01. symbol'] ?? symbol ?? ''),
          price: Number(quote['05. price']),
          timestamp: Number.isNaN(at) ? day : new Date(at).toISOString(),
          source: this.id,
          ...(volume !== undefined ? { volume: Number(volume) } : {}),
        },
      ],
      problems: [],
    };
  }
}
