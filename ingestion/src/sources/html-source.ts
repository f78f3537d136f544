import type { PolledSourceId } from '../ticks/tick.js';
import { HttpSource, type HttpSourceOptions } from './http-source.js';
import { readQuotePage, type HtmlSelectors } from './quote-page.js';
import type { FetchedDocument, ParsedDocument, SourceRequest } from './source.js';

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
    return readQuotePage(document, request, this.selectors);
  }
}
