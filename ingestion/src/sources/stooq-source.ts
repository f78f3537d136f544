import type { PolledSourceId } from '../ticks/tick.js';
import { chunk, fromDashedClass, HttpSource, toDashedClass } from './http-source.js';
import {
  joinUrl,
  statusProblem,
  type FetchedDocument,
  type ParsedDocument,
  type SourceProblem,
  type SourceRequest,
} from './source.js';
import { zonedTimeToUtc } from './zoned-time.js';

/** Stooq stamps its quotes in Warsaw time. */
const STOOQ_TIME_ZONE = 'Europe/Warsaw';
const SYMBOLS_PER_REQUEST = 20;
const HEADER = ['Symbol', 'Date', 'Time', 'Open', 'High', 'Low', 'Close', 'Volume'];

const toStooq = (symbol: string): string => `${toDashedClass(symbol).toLowerCase()}.us`;
const fromStooq = (symbol: string): string => fromDashedClass(symbol.replace(/\.US$/i, ''));

/** Stooq's light CSV quote endpoint: `/q/l/?s=aapl.us+msft.us&f=sd2t2ohlcv&h&e=csv`, several symbols per request. */
export class StooqSource extends HttpSource {
  readonly id: PolledSourceId = 'stooq';

  plan(symbols: readonly string[]): SourceRequest[] {
    return chunk(symbols, SYMBOLS_PER_REQUEST).map((group) => ({
      url: `${joinUrl(this.baseUrl, 'q/l/')}?s=${group.map(toStooq).join('+')}&f=sd2t2ohlcv&h&e=csv`,
      symbols: group,
    }));
  }

  parse(document: FetchedDocument): ParsedDocument {
    const failed = statusProblem(document);
    if (failed) return { candidates: [], problems: [failed] };
    const text = document.body.trim();
    if (text === '')
      return { candidates: [], problems: [{ reason: 'empty_body', message: 'stooq returned an empty body' }] };
    if (/exceeded the daily hits limit/i.test(text)) {
      return { candidates: [], problems: [{ reason: 'rate_limited', message: `stooq: ${text.slice(0, 120)}` }] };
    }
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    const header = lines[0]!.split(',').map((h) => h.trim());
    if (HEADER.some((h, i) => header[i] !== h)) {
      return {
        candidates: [],
        problems: [{ reason: 'bad_response', message: `stooq: unexpected header ${lines[0]!.slice(0, 80)}` }],
      };
    }
    const candidates: unknown[] = [];
    const problems: SourceProblem[] = [];
    for (const line of lines.slice(1)) {
      const [symbol = '', date = '', time = '', , , , close = '', volume = ''] = line.split(',').map((c) => c.trim());
      const ticker = fromStooq(symbol);
      if (date === 'N/D' || close === 'N/D') {
        problems.push({ reason: 'unknown_symbol', message: `stooq has no data for ${symbol}`, symbol: ticker });
        continue;
      }
      const at = zonedTimeToUtc(date, time, STOOQ_TIME_ZONE);
      candidates.push({
        symbol: ticker,
        price: Number(close),
        timestamp: Number.isNaN(at) ? `${date}T${time}` : new Date(at).toISOString(),
        source: this.id,
        ...(volume !== '' && volume !== 'N/D' ? { volume: Number(volume) } : {}),
      });
    }
    return { candidates, problems };
  }
}
