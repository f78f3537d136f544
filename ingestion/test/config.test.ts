import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { IngestionConfig, parseFileConfig, resolveSourceSettings } from '../src/config.js';
import { US_EQUITY_SYMBOLS } from '../src/sources/us-equities.js';

const resolve = (env: Record<string, string>, file?: unknown) =>
  resolveSourceSettings(
    loadConfig(IngestionConfig, env),
    file === undefined ? {} : parseFileConfig(file),
    US_EQUITY_SYMBOLS,
  );

describe('source configuration', () => {
  it('when nothing is set, then the simulated market runs the whole built-in universe at 1 s with seed 42', () => {
    expect(resolve({})).toEqual([{ id: 'simulated', seed: 42, intervalMs: 1000, symbols: [...US_EQUITY_SYMBOLS] }]);
    const config = loadConfig(IngestionConfig, {});
    expect(config).toMatchObject({
      PRICES_EXCHANGE: 'prices',
      GRPC_PORT: 0,
      GRPC_MAX_MESSAGE_BYTES: 1_048_576,
      RAW_RETENTION_DAYS: 7,
    });
  });

  it('when env sets sources, symbols, intervals and base URLs, then they are used', () => {
    expect(
      resolve({
        SOURCES: 'simulated, stooq',
        SYMBOLS: 'AAPL,MSFT',
        SIMULATED_SEED: '7',
        SIMULATED_TICK_MS: '250',
        POLL_INTERVAL_MS: '30000',
        STOOQ_BASE_URL: 'http://127.0.0.1:9/',
      }),
    ).toEqual([
      { id: 'simulated', seed: 7, intervalMs: 250, symbols: ['AAPL', 'MSFT'] },
      { id: 'stooq', baseUrl: 'http://127.0.0.1:9/', intervalMs: 30_000, symbols: ['AAPL', 'MSFT'] },
    ]);
  });

  it('when a config file is given, then it sets per-source symbols and intervals, and env still wins over it', () => {
    const file = {
      sources: ['stooq', 'yahoo', 'html'],
      symbols: ['AAPL'],
      pollIntervalMs: 120_000,
      yahoo: { intervalMs: 15_000, symbols: ['TSLA', 'NVDA'], baseUrl: 'http://yahoo.local/' },
      html: { url: 'https://quotes.example.com/', selectors: { row: 'tr', symbol: '.s', price: '.p' } },
    };
    expect(resolve({ YAHOO_BASE_URL: 'http://env.local/' }, file)).toEqual([
      { id: 'stooq', baseUrl: 'https://stooq.com/', intervalMs: 120_000, symbols: ['AAPL'] },
      { id: 'yahoo', baseUrl: 'http://env.local/', intervalMs: 15_000, symbols: ['TSLA', 'NVDA'] },
      {
        id: 'html',
        url: 'https://quotes.example.com/',
        selectors: { row: 'tr', symbol: '.s', price: '.p' },
        intervalMs: 120_000,
        symbols: ['AAPL'],
      },
    ]);
    expect(resolve({ SOURCES: 'simulated' }, file).map((s) => s.id)).toEqual(['simulated']);
  });

  it(
    'when the rendered source is enabled, then it takes its page from env or the file, waits for the row ' +
      'selector unless told, and bounds its browser',
    () => {
      const selectors = { row: '#quotes tr', symbol: '.s', price: '.p' };
      const file = {
        sources: ['rendered'],
        symbols: ['AAPL'],
        rendered: { url: 'https://live.example.com/', selectors, intervalMs: 30_000 },
      };
      expect(resolve({}, file)).toEqual([
        {
          id: 'rendered',
          url: 'https://live.example.com/',
          selectors,
          waitFor: '#quotes tr',
          timeoutMs: 5000,
          maxBytes: 2_097_152,
          browser: { executablePath: '/usr/bin/chromium', jsHeapMb: 128, maxResidentBytes: 512 * 2 ** 20 },
          intervalMs: 30_000,
          symbols: ['AAPL'],
        },
      ]);
      const [fromEnv] = resolve(
        {
          SOURCES: 'rendered',
          RENDERED_URL: 'http://127.0.0.1:9/live',
          RENDERED_SELECTORS: JSON.stringify(selectors),
          RENDERED_WAIT_FOR: '#quotes[data-ready]',
          RENDERED_TIMEOUT_MS: '2000',
          RENDERED_CHROMIUM_PATH: '/opt/chromium/chrome',
          RENDERED_JS_HEAP_MB: '64',
          RENDERED_BROWSER_MAX_MB: '256',
          FETCH_MAX_BYTES: '100000',
        },
        { ...file, rendered: { ...file.rendered, waitFor: '.from-the-file' } },
      );
      expect(fromEnv).toMatchObject({
        url: 'http://127.0.0.1:9/live',
        waitFor: '#quotes[data-ready]',
        timeoutMs: 2000,
        maxBytes: 100_000,
        browser: { executablePath: '/opt/chromium/chrome', jsHeapMb: 64, maxResidentBytes: 256 * 2 ** 20 },
      });
    },
  );

  it('when keyed sources are enabled, then their keys come from env only', () => {
    const [av, fh] = resolve({ SOURCES: 'alphavantage,finnhub', ALPHAVANTAGE_API_KEY: 'a', FINNHUB_API_KEY: 'f' });
    expect(av).toMatchObject({ id: 'alphavantage', apiKey: 'a', baseUrl: 'https://www.alphavantage.co/' });
    expect(fh).toMatchObject({ id: 'finnhub', apiKey: 'f', baseUrl: 'https://finnhub.io/api/v1/' });
    expect(() => parseFileConfig({ alphavantage: { apiKey: 'in-a-file' } })).toThrow(/config file/);
  });

  it.each([
    [{ SOURCES: 'simulated,bloomberg' }, /unknown source\(s\) bloomberg/],
    [{ SOURCES: 'alphavantage' }, /ALPHAVANTAGE_API_KEY/],
    [{ SOURCES: 'finnhub' }, /FINNHUB_API_KEY/],
    [{ SOURCES: 'html', HTML_URL: 'https://x.example/' }, /HTML_URL and HTML_SELECTORS/],
    [{ SOURCES: 'html', HTML_URL: 'https://x.example/', HTML_SELECTORS: '{"row":"tr"}' }, /HTML_SELECTORS/],
    [{ SOURCES: 'html', HTML_URL: 'https://x.example/', HTML_SELECTORS: 'tr .s .p' }, /HTML_SELECTORS is not JSON/],
    [{ SOURCES: 'rendered', RENDERED_URL: 'https://x.example/' }, /RENDERED_URL and RENDERED_SELECTORS/],
    [
      { SOURCES: 'rendered', RENDERED_URL: 'https://x.example/', RENDERED_SELECTORS: '{"row":"tr","price":".p"}' },
      /RENDERED_SELECTORS\/symbol/,
    ],
    [
      { SOURCES: 'rendered', RENDERED_URL: 'https://x.example/', RENDERED_SELECTORS: 'tr' },
      /RENDERED_SELECTORS is not JSON/,
    ],
    [
      {
        SOURCES: 'rendered',
        RENDERED_URL: 'https://x.example/',
        RENDERED_SELECTORS: '{"row":"tr","symbol":".s","price":".p"}',
        RENDERED_TIMEOUT_MS: '10000',
      },
      /RENDERED_TIMEOUT_MS \(10000\) must be below FETCH_TIMEOUT_MS \(10000\)/,
    ],
  ])('when the configuration is %j, then it is refused with a clear message', (env, message) => {
    expect(() => resolve(env)).toThrow(message);
  });

  it('when an env value has the wrong type, then loading the config names it', () => {
    expect(() => loadConfig(IngestionConfig, { GRPC_MAX_MESSAGE_BYTES: 'lots' })).toThrow(/GRPC_MAX_MESSAGE_BYTES/);
    expect(() => loadConfig(IngestionConfig, { STOOQ_BASE_URL: 'ftp://x' })).toThrow(/STOOQ_BASE_URL/);
  });
});
