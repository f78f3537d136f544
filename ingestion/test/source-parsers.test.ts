import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { MemoryBroker } from '@lizards/lib';
import { AlphaVantageSource } from '../src/sources/alphavantage-source.js';
import { FinnhubSource } from '../src/sources/finnhub-source.js';
import { HtmlSource } from '../src/sources/html-source.js';
import { HttpFetcher } from '../src/sources/http-fetcher.js';
import type { Source, SourceProblemReason } from '../src/sources/source.js';
import { StooqSource } from '../src/sources/stooq-source.js';
import { YahooSource } from '../src/sources/yahoo-source.js';
import type { RawDocument, RawStore } from '../src/raw-store/raw-store.js';
import { FixtureServer, type FixtureResponse, type FixtureRoute } from './support/fixture-server.js';
import { buildTestApp, metricValue } from './support/ingestion-harness.js';
import { LogCapture } from './support/log-capture.js';

const fetcher = new HttpFetcher({ maxBodyBytes: 1_000_000 });
const server = new FixtureServer(() => ({ status: 404 }));
let base = '';

beforeAll(async () => {
  base = await server.start();
});
afterAll(() => server.stop());

interface Polled {
  app: FastifyInstance;
  rawStore: RawStore;
  broker: MemoryBroker;
  logs: LogCapture;
  documents: RawDocument[];
  published: () => number;
}

const open: FastifyInstance[] = [];
afterEach(async () => {
  while (open.length > 0) await open.pop()!.close();
});

/** Serves `route`, runs one poll of `source` through the real app (fetch → raw store → parse → validate → publish). */
async function pollOnce(source: Source, route: FixtureRoute): Promise<Polled> {
  server.setRoute(route);
  const logs = new LogCapture();
  const { app, rawStore, broker, bus } = buildTestApp({ sources: [source], logger: logs.logger() });
  open.push(app);
  await app.ready();
  await bus.declare({ queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }] });
  await app.ingestion.scheduler.pollNow(source.id);
  const documents = (await rawStore.recent({ limit: 100 })).reverse();
  return { app, rawStore, broker, logs, documents, published: () => broker.depth('observer') };
}

const stooq = () => new StooqSource({ baseUrl: base, intervalMs: 60_000, symbols: ['AAPL', 'MSFT', 'BRK.B'], fetcher });
const yahoo = (symbols = ['AAPL']) => new YahooSource({ baseUrl: base, intervalMs: 60_000, symbols, fetcher });
const alphavantage = () =>
  new AlphaVantageSource({ baseUrl: base, intervalMs: 60_000, symbols: ['IBM'], fetcher }, 'av-secret-key-123');
const finnhub = (symbols = ['AAPL']) =>
  new FinnhubSource({ baseUrl: `${base}api/v1/`, intervalMs: 60_000, symbols, fetcher }, 'fh-secret-key-456');
const html = () =>
  new HtmlSource(
    { baseUrl: `${base}most-active`, intervalMs: 60_000, symbols: ['AAPL', 'MSFT', 'TSLA', 'GME'], fetcher },
    { row: '#quotes tr.quote', symbol: '.sym', price: '.last', volume: '.vol', timestamp: 'time@datetime' },
  );

async function expectProblem(
  polled: Polled,
  source: string,
  reason: SourceProblemReason,
  status: number,
): Promise<void> {
  const { documents, app, logs } = polled;
  expect(documents).toHaveLength(1);
  const doc = documents[0]!;
  expect(doc).toMatchObject({ source, status, processed: true, published: true, ticks: [] });
  expect(doc.problems[0]?.reason).toBe(reason);
  expect(polled.published()).toBe(0);
  expect(await metricValue(app, 'ingestion_source_problems_total', { source, reason })).toBe(1);
  expect(await metricValue(app, 'ingestion_ticks_accepted_total', { source })).toBe(0);
  const warning = logs.entries().find((e) => e.msg === 'source problem');
  expect(warning).toMatchObject({ level: 40, source, reason });
  // and the service still answers
  expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200);
}

describe('stooq (CSV quote endpoint)', () => {
  it('when the CSV holds quotes, then each becomes a tick at its Warsaw time converted to UTC', async () => {
    const polled = await pollOnce(stooq(), (url) =>
      url.pathname === '/q/l/' ? { fixture: 'stooq/quotes.csv', contentType: 'text/csv' } : { status: 404 },
    );
    expect(server.requests.at(-1)!.url.search).toBe('?s=aapl.us+msft.us+brk-b.us&f=sd2t2ohlcv&h&e=csv');
    const doc = polled.documents[0]!;
    expect(doc.ticks).toEqual([
      { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:09.000Z', source: 'stooq', volume: 36766619 },
      { symbol: 'MSFT', price: 430.59, timestamp: '2024-09-13T20:00:09.000Z', source: 'stooq', volume: 15874582 },
      { symbol: 'BRK.B', price: 455.56, timestamp: '2024-09-13T20:00:05.000Z', source: 'stooq', volume: 2937612 },
    ]);
    expect(doc.body).toContain('AAPL.US,2024-09-13');
    expect(polled.published()).toBe(3);
  });

  it.each<[string, FixtureResponse, SourceProblemReason]>([
    [
      'the daily hits limit is exceeded',
      { fixture: 'stooq/rate-limit.txt', contentType: 'text/plain' },
      'rate_limited',
    ],
    [
      'the symbol is unknown (N/D row)',
      { fixture: 'stooq/unknown-symbol.csv', contentType: 'text/csv' },
      'unknown_symbol',
    ],
    ['the body is empty', { fixture: 'stooq/empty.csv', contentType: 'text/csv' }, 'empty_body'],
  ])('when %s, then it is logged, counted and stored, without a tick or a crash', async (_what, response, reason) => {
    await expectProblem(await pollOnce(stooq(), () => response), 'stooq', reason, 200);
  });
});

describe('yahoo (v8 chart JSON)', () => {
  it('when the chart has a result, then its meta gives the tick; BRK.B is asked for as BRK-B', async () => {
    const polled = await pollOnce(yahoo(['AAPL', 'BRK.B']), (url) =>
      url.pathname === '/v8/finance/chart/AAPL'
        ? { fixture: 'yahoo/chart-aapl.json' }
        : url.pathname === '/v8/finance/chart/BRK-B'
          ? { fixture: 'yahoo/chart-brk-b.json' }
          : { status: 404 },
    );
    const ticks = polled.documents.flatMap((d) => d.ticks).sort((a, b) => a.symbol.localeCompare(b.symbol));
    expect(ticks).toEqual([
      { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:01.000Z', source: 'yahoo', volume: 36766619 },
      { symbol: 'BRK.B', price: 455.56, timestamp: '2024-09-13T20:00:02.000Z', source: 'yahoo', volume: 2937612 },
    ]);
  });

  it.each<[string, FixtureResponse, SourceProblemReason, number]>([
    [
      'the symbol is unknown (404 chart error)',
      { status: 404, fixture: 'yahoo/not-found.json' },
      'unknown_symbol',
      404,
    ],
    [
      'it is rate limited (429 text)',
      { status: 429, fixture: 'yahoo/rate-limit.txt', contentType: 'text/plain' },
      'rate_limited',
      429,
    ],
    ['the body is empty', { fixture: 'yahoo/empty.json' }, 'empty_body', 200],
  ])(
    'when %s, then it is logged, counted and stored, without a tick or a crash',
    async (_what, response, reason, status) => {
      await expectProblem(await pollOnce(yahoo(), () => response), 'yahoo', reason, status);
    },
  );
});

describe('alphavantage (GLOBAL_QUOTE)', () => {
  it('when a quote comes back, then its price and trading-day close time make the tick', async () => {
    const polled = await pollOnce(alphavantage(), () => ({ fixture: 'alphavantage/global-quote-ibm.json' }));
    const request = server.requests.at(-1)!.url;
    expect(request.searchParams.get('function')).toBe('GLOBAL_QUOTE');
    expect(request.searchParams.get('apikey')).toBe('av-secret-key-123');
    expect(polled.documents[0]!.ticks).toEqual([
      { symbol: 'IBM', price: 214.79, timestamp: '2024-09-13T20:00:00.000Z', source: 'alphavantage', volume: 4553236 },
    ]);
    expect(polled.documents[0]!.url).not.toContain('av-secret-key-123');
  });

  it.each<[string, string, SourceProblemReason]>([
    ['the per-minute limit "Note" comes back', 'alphavantage/rate-limit-note.json', 'rate_limited'],
    ['the daily limit "Information" comes back', 'alphavantage/rate-limit-information.json', 'rate_limited'],
    ['the quote is empty {} (unknown symbol)', 'alphavantage/unknown-symbol.json', 'unknown_symbol'],
    ['the API key is refused', 'alphavantage/invalid-key.json', 'auth_failed'],
  ])('when %s, then it is logged, counted and stored, without a tick or a crash', async (_what, file, reason) => {
    await expectProblem(await pollOnce(alphavantage(), () => ({ fixture: file })), 'alphavantage', reason, 200);
  });
});

describe('finnhub (/quote)', () => {
  it('when a quote comes back, then c and t make the tick, and the key travels in a header', async () => {
    const polled = await pollOnce(finnhub(), (url) =>
      url.pathname === '/api/v1/quote' ? { fixture: 'finnhub/quote-aapl.json' } : { status: 404 },
    );
    const request = server.requests.at(-1)!;
    expect(request.url.search).toBe('?symbol=AAPL');
    expect(request.headers['x-finnhub-token']).toBe('fh-secret-key-456');
    expect(polled.documents[0]!.ticks).toEqual([
      { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:01.000Z', source: 'finnhub' },
    ]);
  });

  it.each<[string, FixtureResponse, SourceProblemReason, number]>([
    ['the symbol is unknown ({"c":0,...})', { fixture: 'finnhub/unknown-symbol.json' }, 'unknown_symbol', 200],
    ['the API limit is reached (429)', { status: 429, fixture: 'finnhub/rate-limit.json' }, 'rate_limited', 429],
    ['the API key is invalid (401)', { status: 401, fixture: 'finnhub/invalid-key.json' }, 'auth_failed', 401],
    ['the body is empty', { body: '' }, 'empty_body', 200],
  ])(
    'when %s, then it is logged, counted and stored, without a tick or a crash',
    async (_what, response, reason, status) => {
      await expectProblem(await pollOnce(finnhub(), () => response), 'finnhub', reason, status);
    },
  );
});

describe('html (cheerio with CSS selectors)', () => {
  it(
    'when the page has the quote table, then each configured row becomes a tick and a row without a price is ' +
      'rejected',
    async () => {
      const polled = await pollOnce(html(), () => ({ fixture: 'html/quotes.html', contentType: 'text/html' }));
      const doc = polled.documents[0]!;
      expect(doc.ticks).toEqual([
        { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:01.000Z', source: 'html', volume: 36766619 },
        { symbol: 'MSFT', price: 430.59, timestamp: '2024-09-13T20:00:01.000Z', source: 'html', volume: 15874582 },
        { symbol: 'TSLA', price: 230.29, timestamp: '2024-09-13T20:00:00.000Z', source: 'html', volume: 59515114 },
      ]);
      expect(doc.rejections).toMatchObject([{ reason: 'invalid_price', symbol: 'GME' }]);
      expect(
        await metricValue(polled.app, 'ingestion_ticks_rejected_total', { source: 'html', reason: 'invalid_price' }),
      ).toBe(1);
    },
  );

  it(
    'when the layout changed (the row selector matches nothing), then it is logged, counted and stored, ' +
      'without a tick or a crash',
    async () => {
      await expectProblem(
        await pollOnce(html(), () => ({ fixture: 'html/layout-changed.html', contentType: 'text/html' })),
        'html',
        'layout_changed',
        200,
      );
    },
  );

  it('when the page is empty, then it is an empty_body problem', async () => {
    await expectProblem(
      await pollOnce(html(), () => ({ body: '', contentType: 'text/html' })),
      'html',
      'empty_body',
      200,
    );
  });
});

describe('API keys', () => {
  it(
    'when keyed sources fetch, fail and are rate limited, ' + 'then no key appears in any log line or stored URL',
    async () => {
      const secretA = 'av-secret-key-123';
      const secretF = 'fh-secret-key-456';
      const polledA = await pollOnce(alphavantage(), () => ({ fixture: 'alphavantage/rate-limit-note.json' }));
      const polledF = await pollOnce(finnhub(), () => ({ status: 429, fixture: 'finnhub/rate-limit.json' }));
      // a source whose server is gone: the fetch error is logged with its URL
      const gone = new AlphaVantageSource(
        { baseUrl: 'http://127.0.0.1:1/', intervalMs: 60_000, symbols: ['IBM'], fetcher },
        secretA,
      );
      const polledGone = await pollOnce(gone, () => ({}));
      const status = (await polledGone.app.inject({ method: 'GET', url: '/sources/status' })).json() as {
        sources: { last_error: string }[];
      };
      expect(status.sources[0]!.last_error).toMatch(/127\.0\.0\.1:1/);

      for (const polled of [polledA, polledF, polledGone]) {
        expect(polled.logs.lines.length).toBeGreaterThan(0);
        expect(polled.logs.text()).not.toContain(secretA);
        expect(polled.logs.text()).not.toContain(secretF);
        for (const doc of polled.documents) expect(JSON.stringify(doc)).not.toMatch(/secret-key/);
      }
      expect(JSON.stringify(status)).not.toContain(secretA);
      expect(polledA.logs.text()).toContain('apikey=[redacted]');
      expect(polledGone.logs.text()).toContain('poll failed');
    },
  );
});
