import * as cheerio from 'cheerio';
import {
  statusProblem,
  type FetchedDocument,
  type ParsedDocument,
  type SourceProblem,
  type SourceRequest,
} from './source.js';

/**
 * Where the quotes are on a page. `row` selects one element per quote; the others are relative to it.
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

/**
 * Reads the quote rows of an HTML page (a fetched one or one rendered by a browser) with cheerio: one candidate
 * tick per row of a requested symbol. `ready` may find a problem with the page as a whole before the rows are read.
 */
export function readQuotePage(
  document: FetchedDocument,
  request: SourceRequest,
  selectors: HtmlSelectors,
  ready?: (page: cheerio.CheerioAPI) => SourceProblem | undefined,
): ParsedDocument {
  const { source } = document;
  const failed = statusProblem(document);
  if (failed) return { candidates: [], problems: [failed] };
  if (document.body.trim() === '')
    return { candidates: [], problems: [{ reason: 'empty_body', message: `${source} page is empty` }] };
  const $ = cheerio.load(document.body);
  const notReady = ready?.($);
  if (notReady) return { candidates: [], problems: [notReady] };
  const rows = $(selectors.row);
  if (rows.length === 0) {
    return {
      candidates: [],
      problems: [
        { reason: 'layout_changed', message: `${source}: no element matches row selector "${selectors.row}"` },
      ],
    };
  }
  const wanted = new Set(request.symbols);
  const candidates: unknown[] = [];
  const problems: SourceProblem[] = [];
  rows.each((i, el) => {
    const row = $(el) as cheerio.Cheerio<never>;
    const symbol = read(row, selectors.symbol)?.toUpperCase();
    const price = read(row, selectors.price);
    if (!symbol || !price) {
      problems.push({
        reason: 'layout_changed',
        message: `${source}: row ${i} has no ${symbol ? 'price' : 'symbol'} cell`,
      });
      return;
    }
    if (!wanted.has(symbol)) return;
    const time = selectors.timestamp ? read(row, selectors.timestamp) : undefined;
    const parsedTime = time === undefined ? document.fetchedAt.getTime() : Date.parse(time);
    const volume = selectors.volume ? read(row, selectors.volume) : undefined;
    candidates.push({
      symbol,
      price: toNumber(price),
      timestamp: Number.isNaN(parsedTime) ? time : new Date(parsedTime).toISOString(),
      source,
      ...(volume !== undefined ? { volume: toNumber(volume) } : {}),
    });
  });
  if (candidates.length === 0 && problems.length === 0) {
    problems.push({
      reason: 'unknown_symbol',
      message: `${source}: none of ${request.symbols.slice(0, 5).join(',')} on the page`,
    });
  }
  return { candidates, problems };
}
