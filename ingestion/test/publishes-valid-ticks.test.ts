import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RabbitBus, type BusMessage } from '@lizards/lib';
import { HtmlSource } from '../src/sources/html-source.js';
import { HttpFetcher } from '../src/sources/http-fetcher.js';
import { StooqSource } from '../src/sources/stooq-source.js';
import { FixtureServer } from './support/fixture-server.js';
import { buildTestApp } from './support/ingestion-harness.js';
import { AMQP_URL, deleteStoreTopology, observeExchange, testStoreTopology } from './support/rabbit.js';
import { waitFor } from '@lizards/testkit';

const run = randomUUID().slice(0, 8);
const exchange = `lz.test.${run}.prices`;
const queue = `${exchange}.observer`;
const store = testStoreTopology(exchange);

describe('publishing to the prices exchange on RabbitMQ', () => {
  const server = new FixtureServer((url) =>
    url.pathname === '/q/l/'
      ? { fixture: 'stooq/quotes-with-bad-rows.csv', contentType: 'text/csv' }
      : url.pathname === '/most-active'
        ? { fixture: 'html/quotes.html', contentType: 'text/html' }
        : { status: 404 },
  );
  let observer: { bus: RabbitBus; messages: BusMessage[] };

  beforeAll(async () => {
    await server.start();
    observer = await observeExchange(exchange, queue);
  });

  afterAll(async () => {
    await observer?.bus.close();
    await server.stop();
    await deleteStoreTopology(store, [queue]);
  });

  it(
    'when a fixture holds valid and invalid ticks, then a consumer receives exactly the valid ones with their ' +
      'values, and the raw store holds every document with its status',
    async () => {
      const fetcher = new HttpFetcher({ maxBodyBytes: 1_000_000 });
      const stooq = new StooqSource({
        baseUrl: server.url,
        intervalMs: 60_000,
        symbols: ['AAPL', 'MSFT', 'XOM', 'NVDA', 'QQQQ', 'TSLA'],
        fetcher,
      });
      const html = new HtmlSource(
        { baseUrl: `${server.url}most-active`, intervalMs: 60_000, symbols: ['AAPL', 'GME'], fetcher },
        { row: '#quotes tr.quote', symbol: '.sym', price: '.last', volume: '.vol', timestamp: 'time@datetime' },
      );
      const bus = RabbitBus.create({ url: AMQP_URL });
      await bus.waitUntilConnected(10_000);
      const { app, rawStore } = buildTestApp({ sources: [stooq, html], bus, settings: { store } });
      await app.ready();

      await app.ingestion.scheduler.pollNow('stooq');
      await app.ingestion.scheduler.pollNow('html');
      // Everything ingestion published was confirmed before pollNow resolved; a sentinel behind it marks the end.
      await observer.bus.publish(exchange, 'SENTINEL', Buffer.from('{}'));
      await waitFor(() => observer.messages.some((m) => m.routingKey === 'SENTINEL'), 10_000, 'the sentinel');

      const received = observer.messages.filter((m) => m.routingKey !== 'SENTINEL');
      const bodies = received.map((m) => JSON.parse(m.body.toString()) as Record<string, unknown>);
      expect(bodies).toEqual([
        { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:09.000Z', source: 'stooq', volume: 36766619 },
        { symbol: 'MSFT', price: 430.59, timestamp: '2024-09-13T20:00:09.000Z', source: 'stooq', volume: 15874582 },
        { symbol: 'TSLA', price: 230.29, timestamp: '2024-09-13T20:00:09.000Z', source: 'stooq', volume: 59515114 },
        { symbol: 'AAPL', price: 222.5, timestamp: '2024-09-13T20:00:01.000Z', source: 'html', volume: 36766619 },
      ]);
      for (const [i, m] of received.entries()) {
        const body = bodies[i]!;
        expect(m.routingKey).toBe(body.symbol);
        expect(m.messageId).toBe(`${String(body.source)}:${String(body.symbol)}:${String(body.timestamp)}`);
        expect(typeof m.headers['x-published-at']).toBe('number');
      }

      const documents = (await rawStore.recent({ limit: 10 })).reverse();
      expect(documents.map((d) => [d.source, d.status, d.published])).toEqual([
        ['stooq', 200, true],
        ['html', 200, true],
      ]);
      expect(documents[0]!.body).toContain('^SPX');
      expect(documents[0]!.rejections.map((r) => [r.symbol, r.reason])).toEqual([
        ['XOM', 'invalid_price'],
        ['^SPX', 'invalid_symbol'],
        ['NVDA', 'future_timestamp'],
      ]);
      expect(documents[0]!.problems).toMatchObject([{ reason: 'unknown_symbol', symbol: 'QQQQ' }]);
      expect(documents[1]!.rejections).toMatchObject([{ symbol: 'GME', reason: 'invalid_price' }]);
      expect(await rawStore.outboxDepth()).toBe(0);
      await app.close();
    },
  );
});
