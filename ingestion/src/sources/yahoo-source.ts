import type { PolledSourceId } from '../ticks/tick.js';
import { fromDashedClass, HttpSource, parseJson, toDashedClass } from './http-source.js';
import { joinUrl, statusProblem, type FetchedDocument, type ParsedDocument, type SourceRequest } from './source.js';

interface ChartResponse {
  chart?: {
    result?:
      | {
          meta?: {
            symbol?: string;
            regularMarketPrice?: unknown;
            regularMarketTime?: unknown;
            regularMarketVolume?: unknown;
          };
        }[]
      | null;
    error?: { code?: string; description?: string } | null;
  };
}

/** Yahoo Finance's v8 chart endpoint, one symbol per request; the quote is the chart's `meta`. */
export class YahooSource extends HttpSource {
  readonly id: PolledSourceId = 'yahoo';

  plan(symbols: readonly string[]): SourceRequest[] {
    return symbols.map((symbol) => ({
      url:
        `${joinUrl(this.baseUrl, `v8/finance/chart/${encodeURIComponent(toDashedClass(symbol))}`)}` +
        '?interval=1m&range=1d',
      symbols: [symbol],
    }));
  }

  parse(document: FetchedDocument, request: SourceRequest): ParsedDocument {
    const symbol = request.symbols[0];
    if (document.body.trim() === '')
      return { candidates: [], problems: [{ reason: 'empty_body', message: 'yahoo returned an empty body' }] };
    const json = parseJson(document.body) as ChartResponse | undefined;
    const error = json?.chart?.error;
    if (error) {
      const reason = error.code === 'Not Found' ? 'unknown_symbol' : 'bad_response';
      return {
        candidates: [],
        problems: [
          { reason, message: `yahoo: ${error.code}: ${error.description ?? ''}`, ...(symbol ? { symbol } : {}) },
        ],
      };
    }
    const failed = statusProblem(document);
    if (failed) return { candidates: [], problems: [failed] };
    const meta = json?.chart?.result?.[0]?.meta;
    if (!meta) return { candidates: [], problems: [{ reason: 'bad_response', message: 'yahoo: no chart result' }] };
    const time = meta.regularMarketTime;
    return {
      candidates: [
        {
          symbol: fromDashedClass(String(meta.symbol ?? symbol ?? '')),
          price: meta.regularMarketPrice,
          timestamp: typeof time === 'number' ? new Date(time * 1000).toISOString() : time,
          source: this.id,
          ...(typeof meta.regularMarketVolume === 'number' ? { volume: meta.regularMarketVolume } : {}),
        },
      ],
      problems: [],
    };
  }
}
