import { FetchFailedError, FetchTimeoutError, redactUrl, ResponseTooLargeError } from '@lizards/lib';
import { errors } from 'playwright-core';
import type { PolledSourceId } from '../ticks/tick.js';
import { playwrightMessage, type ChromiumBrowser } from './chromium-browser.js';
import { readQuotePage, type HtmlSelectors } from './quote-page.js';
import type { FetchedDocument, ParsedDocument, Source, SourceAvailability, SourceRequest } from './source.js';

export interface RenderedSourceOptions {
  url: string;
  intervalMs: number;
  symbols: readonly string[];
  selectors: HtmlSelectors;
  /** CSS selector the page must show before it is read (prices written by the page's own JavaScript). */
  waitFor: string;
  /** Longest wait for the page to load and show `waitFor`. */
  timeoutMs: number;
  /** Largest rendered HTML kept; a bigger page fails the fetch. */
  maxBytes: number;
  browser: ChromiumBrowser;
}

/**
 * A page of quotes that only exists after its JavaScript ran: loaded in headless Chromium, read once `waitFor`
 * appears (or the timeout passes) with the HTML source's selectors. The raw document is the rendered HTML, so
 * parsing it again later gives the same ticks.
 */
export class RenderedSource implements Source {
  readonly id: PolledSourceId = 'rendered';
  readonly baseUrl: string;
  readonly intervalMs: number;
  readonly symbols: readonly string[];

  constructor(private readonly opts: RenderedSourceOptions) {
    this.baseUrl = opts.url;
    this.intervalMs = opts.intervalMs;
    this.symbols = opts.symbols;
  }

  plan(symbols: readonly string[]): SourceRequest[] {
    return symbols.length > 0 ? [{ url: this.baseUrl, symbols: [...symbols] }] : [];
  }

  fetch(request: SourceRequest, signal: AbortSignal): Promise<FetchedDocument> {
    const { timeoutMs, waitFor, maxBytes } = this.opts;
    const safeUrl = redactUrl(request.url);
    const fetchedAt = new Date();
    return this.opts.browser.withPage(signal, async (page) => {
      // The timeout is the page's; a browser launch before it is bounded by the fetch timeout.
      const deadline = Date.now() + timeoutMs;
      let response: Awaited<ReturnType<typeof page.goto>>;
      try {
        response = await page.goto(request.url, { waitUntil: 'domcontentloaded', timeout: timeoutMs });
      } catch (err) {
        if (err instanceof errors.TimeoutError) throw new FetchTimeoutError(safeUrl, timeoutMs);
        throw new FetchFailedError(safeUrl, redactUrl(playwrightMessage(err)));
      }
      const status = response?.status() ?? 200;
      if (status < 400) {
        // Not appearing in time is the page's problem, found again by parse() in the stored HTML.
        await page
          .waitForSelector(waitFor, { state: 'attached', timeout: Math.max(1, deadline - Date.now()) })
          .catch((err: unknown) => {
            if (!(err instanceof errors.TimeoutError)) throw err;
          });
      }
      const body = await page.content();
      if (Buffer.byteLength(body) > maxBytes) throw new ResponseTooLargeError(safeUrl, maxBytes);
      return { source: this.id, url: safeUrl, fetchedAt, status, contentType: 'text/html; charset=utf-8', body };
    });
  }

  parse(document: FetchedDocument, request: SourceRequest): ParsedDocument {
    const { waitFor, timeoutMs, selectors } = this.opts;
    return readQuotePage(document, request, selectors, ($) =>
      $(waitFor).length > 0
        ? undefined
        : { reason: 'render_timeout', message: `rendered: "${waitFor}" did not appear within ${timeoutMs} ms` },
    );
  }

  availability(): SourceAvailability {
    return this.opts.browser.availability();
  }

  close(): Promise<void> {
    return this.opts.browser.close();
  }
}
