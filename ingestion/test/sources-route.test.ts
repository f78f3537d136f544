import { afterEach, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '@lizards/lib';
import { IngestionConfig, resolveSourceSettings } from '../src/config.js';
import { HttpFetcher } from '../src/sources/http-fetcher.js';
import { createSources } from '../src/sources/source-factory.js';
import { US_EQUITY_SYMBOLS } from '../src/sources/us-equities.js';
import { buildTestApp } from './support/ingestion-harness.js';

const fetcher = new HttpFetcher({ maxBodyBytes: 1_000_000 });
const apps: FastifyInstance[] = [];
afterEach(async () => {
  while (apps.length > 0) await apps.pop()!.close();
});

async function appFor(env: Record<string, string>): Promise<FastifyInstance> {
  const config = loadConfig(IngestionConfig, env);
  const sources = createSources(resolveSourceSettings(config, {}, US_EQUITY_SYMBOLS), fetcher);
  const { app } = buildTestApp({ sources });
  apps.push(app);
  await app.ready();
  return app;
}

describe('GET /sources', () => {
  it('when nothing is configured, then it lists the simulated market alone', async () => {
    const app = await appFor({});
    const res = await app.inject({ method: 'GET', url: '/sources' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toBe('{"sources":["simulated://market"]}');
  });

  it(
    'when every source is enabled, then it lists exactly their base URLs, in the configured order, and nothing ' +
      'else',
    async () => {
      const app = await appFor({
        SOURCES: 'alphavantage,simulated,stooq,yahoo,finnhub,html',
        ALPHAVANTAGE_API_KEY: 'k1',
        FINNHUB_API_KEY: 'k2',
        HTML_URL: 'https://quotes.example.com/most-active',
        HTML_SELECTORS: '{"row":"tr","symbol":".s","price":".p"}',
      });
      const res = await app.inject({ method: 'GET', url: '/sources' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toStrictEqual({
        sources: [
          'https://www.alphavantage.co/',
          'simulated://market',
          'https://stooq.com/',
          'https://query1.finance.yahoo.com/',
          'https://finnhub.io/api/v1/',
          'https://quotes.example.com/most-active',
        ],
      });
      expect(res.body).not.toMatch(/k1|k2/);
    },
  );

  it('when a base URL is configured, then that URL is listed', async () => {
    const app = await appFor({ SOURCES: 'stooq', STOOQ_BASE_URL: 'http://127.0.0.1:9999/stooq/' });
    expect((await app.inject({ method: 'GET', url: '/sources' })).json()).toStrictEqual({
      sources: ['http://127.0.0.1:9999/stooq/'],
    });
  });
});

describe('GET /sources/status', () => {
  it('when a source has polled, then its status shows counts, times and assigned symbols', async () => {
    const app = await appFor({ SOURCES: 'simulated', SYMBOLS: 'AAPL,MSFT' });
    await app.ingestion.scheduler.pollNow('simulated');
    const res = await app.inject({ method: 'GET', url: '/sources/status' });
    expect(res.statusCode).toBe(200);
    const [status] = (res.json() as { sources: Record<string, unknown>[] }).sources;
    expect(status).toMatchObject({
      source: 'simulated',
      url: 'simulated://market',
      interval_ms: 1000,
      symbols: 2,
      assigned_symbols: ['AAPL', 'MSFT'],
      polls: 1,
      fetches: 1,
      failures: 0,
      documents: 1,
      ticks_accepted: 2,
      ticks_rejected: 0,
      last_error: null,
    });
    expect(Date.parse(status!.last_success_at as string)).not.toBeNaN();
  });

  it('when a route does not exist, then the error is JSON {error, message}', async () => {
    const app = await appFor({});
    const res = await app.inject({ method: 'GET', url: '/nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'LZ_ERR_NO_ROUTE',
      message: 'No route GET /nope',
    });
  });
});
