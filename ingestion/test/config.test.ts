import { describe, expect, it } from 'vitest';
import { loadConfig } from '@lizards/lib';
import { IngestionConfig, parseFileConfig, resolveSourceSettings } from '../src/config.js';
import { US_EQUITY_SYMBOLS } from '../src/sources/us-equities.js';

const resolve = (env: Record<string, string>, file?: unknown) =>
  resolveSourceSettings(loadConfig(IngestionConfig, env), file === undefined ? {} : parseFileConfig(file), US_EQUITY_SYMBOLS);

describe('source configuration', () => {
  it('when nothing is set, then the simulated market runs the whole built-in universe at 1 s with seed 42', () => {
    expect(resolve({})).toEqual([{ id: 'simulated', seed: 42, intervalMs: 1000, symbols: [...US_EQUITY_SYMBOLS] }]);
    const config = loadConfig(IngestionConfig, {});
    expect(config).toMatchObject({ PRICES_EXCHANGE: 'prices', GRPC_PORT: 0, GRPC_MAX_MESSAGE_BYTES: 1_048_576, RAW_RETENTION_DAYS: 7 });
  });

  it('when env sets sources, symbols, intervals and base URLs, then they are used', () => {
    expect(
      resolve({ SOURCES: 'simulated, stooq', SYMBOLS: 'AAPL,MSFT', SIMULATED_SEED: '7', SIMULATED_TICK_MS: '250', POLL_INTERVAL_MS: '30000', STOOQ_BASE_URL: 'http://127.0.0.1:9/' }),
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
      { id: 'html', url: 'https://quotes.example.com/', selectors: { row: 'tr', symbol: '.s', price: '.p' }, intervalMs: 120_000, symbols: ['AAPL'] },
    ]);
    expect(resolve({ SOURCES: 'simulated' }, file).map((s) => s.id)).toEqual(['simulated']);
  });

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
  ])('when the configuration is %j, then it is refused with a clear message', (env, message) => {
    expect(() => resolve(env)).toThrow(message);
  });

  it('when an env value has the wrong type, then loading the config names it', () => {
    expect(() => loadConfig(IngestionConfig, { GRPC_MAX_MESSAGE_BYTES: 'lots' })).toThrow(/GRPC_MAX_MESSAGE_BYTES/);
    expect(() => loadConfig(IngestionConfig, { STOOQ_BASE_URL: 'ftp://x' })).toThrow(/STOOQ_BASE_URL/);
  });
});
