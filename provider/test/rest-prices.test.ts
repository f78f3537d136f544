import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestSchema, deleteTopology, runId, testTopology } from './support/backends.js';
import { startProvider, type ProviderHarness } from './support/provider-harness.js';

const run = runId();
const topology = testTopology(run);
let db: Awaited<ReturnType<typeof createTestSchema>>;
let provider: ProviderHarness;
const t0 = Date.parse('2024-09-14T12:00:00.000Z');
const at = (s: number) => new Date(t0 + s * 1000);

beforeAll(async () => {
  db = await createTestSchema(run);
  provider = await startProvider({ schema: db.schema, databaseUrl: db.url, topology, worker: false });
  // Minute 0: 10, 12, 9, 11; minute 1: 20, 21; another symbol elsewhere.
  const rows = [
    [0, 10, 5],
    [15, 12, 5],
    [30, 9, 5],
    [45, 11, 5],
    [60, 20, 1],
    [90, 21, 1],
  ] as const;
  await provider.store.writer.write(
    rows.map(([s, price, volume]) => ({
      symbol: 'AAPL',
      price,
      timestamp: at(s),
      source: 'simulated',
      volume,
      publishedAt: null,
    })),
  );
  await provider.store.writer.write([
    { symbol: 'BRK.B', price: 400, timestamp: at(0), source: 'stooq', volume: null, publishedAt: null },
  ]);
});
afterAll(async () => {
  await provider?.close();
  await db?.drop();
  await deleteTopology(topology);
});

const get = (url: string) => provider.app.inject({ method: 'GET', url });

describe('GET /symbols', () => {
  it('lists the known symbols', async () => {
    const res = await get('/symbols');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ symbols: ['AAPL', 'BRK.B'] });
    expect(res.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
  });
});

describe('GET /prices/:symbol', () => {
  it('when the symbol is known, then it returns the latest price with a short cache lifetime', async () => {
    const res = await get('/prices/AAPL');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({
      symbol: 'AAPL',
      price: 21,
      timestamp: at(90).toISOString(),
      source: 'simulated',
      volume: 1,
    });
    expect(res.json().seq).toMatch(/^\d+$/);
    expect(res.headers['cache-control']).toBe('public, max-age=1');
  });

  it('when the symbol is unknown, then 404 with a JSON error', async () => {
    const res = await get('/prices/NOPE');
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({
      statusCode: 404,
      error: 'Not Found',
      code: 'LZ_ERR_PROVIDER_UNKNOWN_SYMBOL',
      message: 'Unknown stock symbol: NOPE',
    });
  });

  it('when the symbol is malformed, then 400', async () => {
    const res = await get('/prices/not-a-symbol');
    expect(res.statusCode).toBe(400);
    expect(res.json().error).toBe('Bad Request');
  });
});

describe('GET /prices/:symbol/history', () => {
  it('returns the ticks of a range oldest first, limited, cacheable for long once the range is closed', async () => {
    const res = await get(`/prices/AAPL/history?from=${at(10).toISOString()}&to=${at(90).toISOString()}&limit=3`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.prices.map((p: { price: number }) => p.price)).toEqual([12, 9, 11]);
    expect(body).toMatchObject({ symbol: 'AAPL', from: at(10).toISOString(), to: at(90).toISOString() });
    expect(res.headers['cache-control']).toBe('public, max-age=300');
  });

  it('when the range ends now, then the cache lifetime is short', async () => {
    const res = await get(`/prices/AAPL/history?from=${at(0).toISOString()}`);
    expect(res.statusCode).toBe(200);
    expect(res.json().prices).toHaveLength(6);
    expect(res.headers['cache-control']).toBe('public, max-age=1');
  });

  it.each([
    ['from after to', `from=${at(60).toISOString()}&to=${at(0).toISOString()}`],
    ['a bad date', 'from=yesterday'],
    ['a zero limit', 'limit=0'],
    ['a huge limit', 'limit=1000000'],
  ])('when the query has %s, then 400 with a JSON error', async (_what, query) => {
    const res = await get(`/prices/AAPL/history?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'Bad Request', message: expect.any(String) });
  });

  it('when the symbol is unknown, then 404', async () => {
    expect((await get(`/prices/NOPE/history?from=${at(0).toISOString()}`)).statusCode).toBe(404);
  });

  it(
    'when a range holds more ticks than the page, then the next links walk it page by page, each tick once, ' +
      'and the last says null',
    async () => {
      const pages: { prices: { price: number }[]; next: string | null }[] = [];
      let url: string | null = `/prices/AAPL/history?from=${at(0).toISOString()}&limit=4`;
      while (url) {
        const res = await get(url);
        expect(res.statusCode).toBe(200);
        const body = res.json();
        expect(res.headers.link).toBe(body.next ? `<${body.next}>; rel="next"` : undefined);
        pages.push(body);
        url = body.next;
      }
      expect(pages.map((p) => p.prices.map((t) => t.price))).toEqual([
        [10, 12, 9, 11],
        [20, 21],
      ]);
      // The open end ("now") is fixed in the link, so the pages are one range.
      const next = new URL(pages[0]!.next!, 'http://x');
      expect(next.searchParams.get('to')).toBe(new Date(Date.parse(next.searchParams.get('to')!)).toISOString());
      expect(next.searchParams.get('limit')).toBe('4');
    },
  );

  it('when a page is exactly the rest of the range, then it has no next link', async () => {
    const res = await get(`/prices/AAPL/history?from=${at(0).toISOString()}&to=${at(91).toISOString()}&limit=6`);
    expect(res.json().next).toBeNull();
    expect(res.headers.link).toBeUndefined();
  });

  it.each([
    ['a word', 'abc'],
    ['no seq', '1726315200000000'],
    ['a negative seq', '1726315200000000_-1'],
    ['a seq past bigint', '1726315200000000_9999999999999999999'],
  ])('when the cursor is %s, then 400', async (_what, cursor) => {
    const res = await get(`/prices/AAPL/history?from=${at(0).toISOString()}&cursor=${encodeURIComponent(cursor)}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'Bad Request', message: expect.stringContaining('cursor') });
  });
});

describe('GET /prices/:symbol/candles', () => {
  it('returns 1-minute OHLC candles computed in SQL', async () => {
    const res = await get(`/prices/AAPL/candles?interval=1m&from=${at(0).toISOString()}&to=${at(120).toISOString()}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      symbol: 'AAPL',
      interval: '1m',
      candles: [
        { start: at(0).toISOString(), open: 10, high: 12, low: 9, close: 11, volume: 20, ticks: 4 },
        { start: at(60).toISOString(), open: 20, high: 21, low: 20, close: 21, volume: 2, ticks: 2 },
      ],
    });
    expect(res.headers['cache-control']).toBe('public, max-age=300');
  });

  it('when the interval is not supported or the range is too long, then 400', async () => {
    expect((await get(`/prices/AAPL/candles?interval=7m`)).statusCode).toBe(400);
    expect(
      (await get(`/prices/AAPL/candles?interval=1m&from=2000-01-01T00:00:00Z&to=2024-01-01T00:00:00Z`)).statusCode,
    ).toBe(400);
  });
});

describe('GET /health, /ready', () => {
  it('reports ready when the database and the bus are (/ready on the admin listener)', async () => {
    expect((await get('/health')).statusCode).toBe(200);
    const ready = await provider.app.admin.inject('/ready');
    expect(ready.statusCode).toBe(200);
    expect(ready.json().checks).toEqual({ database: 'ok', bus: 'ok' });
  });
});
