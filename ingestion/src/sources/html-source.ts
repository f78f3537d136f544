import * as cheerio from 'cheerio';
import type { PolledSourceId } from '../ticks/tick.js';
import { HttpSource, type HttpSourceOptions } from './http-source.js';
import { statusProblem, type FetchedDocument, type ParsedDocument, type SourceProblem, type SourceRequest } from './source.js';

/**
 * Where the quotes are on the page. `row` selects one element per quote; the others are relative to it.
 * A selector may end in `@attr` to read an attribute instead of the text (e.g. `time@datetime`).
 */
export interface HtmlSelectors {
  row: string;
  symbol: string;
  price: string;
  timestamp?: string;
  volume?: string;
}

function read(row: cheerio.Cheerio<never>, selector: string): string | undefined {
  const at = selector.lastIndexOf('@');
  const [css, attr] = at > 0 ? [selector.slice(0, at), selector.slice(at + 1)] : [selector, undefined];
  const el = row.find(css).first();
  if (el.length === 0) return undefined;
  const value = attr ? el.attr(attr) : el.text();
  return value?.trim() || undefined;
}

const toNumber = (text: string): number => Number(text.replace(/[$,\s]/g, ''));

/** A page of quotes scraped with cheerio: one request for the configured URL, rows picked by CSS selectors. */
export class HtmlSource extends HttpSource {
  readonly id: PolledSourceId = 'html';

  constructor(
    opts: HttpSourceOptions,
    private readonly selectors: HtmlSelectors,
  ) {
    super(opts);
  }

  plan(symbols: readonly string[]): SourceRequest[] {
    return symbols.length > 0 ? [{ url: this.baseUrl, symbols: [...symbols] }] : [];
  }

  parse(document: FetchedDocument, request: SourceRequest): ParsedDocument {
    const failed = statusProblem(document);
    if (failed) return { candidates: [], problems: [failed] };
    if (document.body.trim() === '') return { candidates: [], problems: [{ reason: 'empty_body', message: 'html page is empty' }] };
    const $ = cheerio.load(document.body);
    const rows = $(this.selectors.row);
    if (rows.length === 0) {
      return { candidates: [], problems: [{ reason: 'layout_changed', message: `html: no element matches row selector "${this.selectors.row}"` }] };
    }
    const wanted = new Set(request.symbols);
    const candidates: unknown[] = [];
    const problems: SourceProblem[] = [];
    rows.each((i, el) => {
      const row = $(el) as cheerio.Cheerio<never>;
      const symbol = read(row, this.selectors.symbol)?.toUpperCase();
      const price = read(row, this.selectors.price);
      if (!symbol || !price) {
        problems.push({ reason: 'layout_changed', message: `html: row ${i} has no ${symbol ? 'price' : 'symbol'} cell` });
        return;
      }
      if (!wanted.has(symbol)) return;
      const time = this.selectors.timestamp ? read(row, this.selectors.timestamp) : undefined;
      const parsedTime = time === undefined ? document.fetchedAt.getTime() : Date.parse(time);
      const volume = this.selectors.volume ? read(row, this.selectors.volume) : undefined;
      candidates.push({
        symbol,
        price: toNumber(price),
        timestamp: Number.isNaN(parsedTime) ? time : new Date(parsedTime).toISOString(),
        source: this.id,
        ...(volume !== undefined ? { volume: toNumber(volume) } : {}),
      });
    });
    if (candidates.length === 0 && problems.length === 0) {
      problems.push({ reason: 'unknown_symbol', message: `html: none of ${request.symbols.slice(0, 5).join(',')} on the page` });
    }
    return { candidates, problems };
  }
}
