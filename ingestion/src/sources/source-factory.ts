import type { FastifyBaseLogger } from 'fastify';
import type { SourceSettings } from '../config.js';
import { AlphaVantageSource } from './alphavantage-source.js';
import { ChromiumBrowser } from './chromium-browser.js';
import { FinnhubSource } from './finnhub-source.js';
import { HtmlSource } from './html-source.js';
import type { HttpFetcher } from './http-fetcher.js';
import { RenderedSource } from './rendered-source.js';
import { SimulatedSource } from './simulated-source.js';
import type { Source } from './source.js';
import { StooqSource } from './stooq-source.js';
import { YahooSource } from './yahoo-source.js';

export interface CreateSourcesOptions {
  now?: () => number;
  log?: Pick<FastifyBaseLogger, 'info' | 'warn'>;
}

/** Makes the source modules for resolved settings. */
export function createSources(
  settings: readonly SourceSettings[],
  fetcher: HttpFetcher,
  { now, log }: CreateSourcesOptions = {},
): Source[] {
  return settings.map((s): Source => {
    switch (s.id) {
      case 'simulated':
        return new SimulatedSource({ seed: s.seed, tickMs: s.intervalMs, symbols: s.symbols, ...(now ? { now } : {}) });
      case 'stooq':
        return new StooqSource({ baseUrl: s.baseUrl, intervalMs: s.intervalMs, symbols: s.symbols, fetcher });
      case 'yahoo':
        return new YahooSource({ baseUrl: s.baseUrl, intervalMs: s.intervalMs, symbols: s.symbols, fetcher });
      case 'alphavantage':
        return new AlphaVantageSource(
          { baseUrl: s.baseUrl, intervalMs: s.intervalMs, symbols: s.symbols, fetcher },
          s.apiKey,
        );
      case 'finnhub':
        return new FinnhubSource(
          { baseUrl: s.baseUrl, intervalMs: s.intervalMs, symbols: s.symbols, fetcher },
          s.apiKey,
        );
      case 'html':
        return new HtmlSource({ baseUrl: s.url, intervalMs: s.intervalMs, symbols: s.symbols, fetcher }, s.selectors);
      case 'rendered': {
        const { url, intervalMs, symbols, selectors, waitFor, timeoutMs, maxBytes } = s;
        const browser = new ChromiumBrowser({ ...s.browser, ...(log ? { log } : {}) });
        return new RenderedSource({ url, intervalMs, symbols, selectors, waitFor, timeoutMs, maxBytes, browser });
      }
      default: {
        const unknown: never = s;
        throw new Error(`unknown source ${(unknown as SourceSettings).id}`);
      }
    }
  });
}
