import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBroker, RabbitBus, type BusMessage } from '@lizards/lib';
import { EmbeddedRawStore } from '../src/raw-store/embedded-raw-store.js';
import { HttpFetcher } from '../src/sources/http-fetcher.js';
import { SimulatedSource } from '../src/sources/simulated-source.js';
import { StooqSource } from '../src/sources/stooq-source.js';
import { fixture } from './support/fixture-server.js';
import { buildTestApp, TEST_RAW_STORE_BYTES } from './support/ingestion-harness.js';
import { tickIdsOf } from './support/tick-ids.js';
import { waitFor } from '@lizards/testkit';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the raw store as the outbox across a restart', () => {
  it(
    'when ticks were stored while no broker was reachable, then a restarted instance publishes them from the ' +
      'persisted store and /ready follows the bus',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lz-outbox-'));
      dirs.push(dir);
      const symbols = ['AAPL', 'MSFT', 'NVDA'];

      // First life: a broker that never answers (nothing listens on port 1).
      const unreachable = RabbitBus.create({
        url: 'amqp://guest:guest@127.0.0.1:1',
        minBackoffMs: 1000,
        maxBackoffMs: 5000,
      });
      const first = buildTestApp({
        sources: [new SimulatedSource({ seed: 3, tickMs: 1000, symbols })],
        bus: unreachable,
        rawStore: new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir }),
      });
      await first.app.ready();
      for (let i = 0; i < 3; i++) await first.app.ingestion.scheduler.pollNow('simulated');
      expect(await first.rawStore.outboxDepth()).toBe(3);
      const ready = await first.app.admin.inject({ method: 'GET', url: '/ready' });
      expect(ready.statusCode).toBe(503);
      expect(ready.json()).toMatchObject({ status: 'not ready', checks: { bus: 'disconnected', raw_store: 'ok' } });
      const metrics = (await first.app.admin.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toMatch(/^ingestion_outbox_depth 3$/m);
      const stored = (await first.rawStore.recent({ limit: 10 })).flatMap((d) =>
        d.ticks.map((t) => `${t.source}:${t.symbol}:${t.timestamp}`),
      );
      await first.app.close();

      // Second life: same data directory, a working bus.
      const broker = new MemoryBroker();
      const observer = broker.connect();
      await observer.declare({
        exchanges: [{ name: 'prices', type: 'topic' }],
        queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }],
      });
      const received: BusMessage[] = [];
      await observer.consume(
        'observer',
        (m) => {
          received.push(m);
          m.ack();
        },
        { prefetch: 100 },
      );
      const second = buildTestApp({
        bus: broker.connect(),
        rawStore: new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir }),
      });
      await second.app.ready();
      await waitFor(
        async () => (await second.rawStore.outboxDepth()) === 0,
        10_000,
        'the outbox draining after the restart',
      );
      await waitFor(() => received.flatMap(tickIdsOf).length === 9, 5000, 'the nine stored ticks');
      expect(received.flatMap(tickIdsOf).sort()).toEqual(stored.sort());
      expect((await second.app.admin.inject({ method: 'GET', url: '/ready' })).statusCode).toBe(200);
      await second.app.close();
      await observer.close();
    },
  );

  it(
    'when documents were stored raw but never processed (the process died in between), then the next start ' +
      'parses, validates and publishes them',
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'lz-outbox-'));
      dirs.push(dir);
      const crashed = new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir });
      await crashed.start();
      const fetchedAt = new Date(Date.now() - 5000);
      const stooqDoc = await crashed.insert({
        source: 'stooq',
        url: 'https://stooq.com/q/l/?s=aapl.us+msft.us+brk-b.us&f=sd2t2ohlcv&h&e=csv',
        fetched_at: fetchedAt,
        status: 200,
        content_type: 'text/csv',
        body: fixture('stooq/quotes.csv'),
        symbols: ['AAPL', 'MSFT', 'BRK.B'],
      });
      const grpcDoc = await crashed.insert({
        source: 'grpc',
        url: 'grpc://x',
        fetched_at: fetchedAt,
        status: 200,
        body: '{"symbol":"IBM","price":214.79,"timestamp":"2024-09-13T20:00:00Z"}',
      });
      await crashed.close();

      const broker = new MemoryBroker();
      const observer = broker.connect();
      await observer.declare({
        exchanges: [{ name: 'prices', type: 'topic' }],
        queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }],
      });
      const stooq = new StooqSource({
        baseUrl: 'https://stooq.com/',
        intervalMs: 60_000,
        symbols: ['AAPL', 'MSFT', 'BRK.B'],
        fetcher: new HttpFetcher({ maxBodyBytes: 1000 }),
      });
      const restarted = buildTestApp({
        sources: [stooq],
        bus: broker.connect(),
        rawStore: new EmbeddedRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7, dataDir: dir }),
        settings: { recoverAfterMs: 1000 },
      });
      await restarted.app.ready();
      await waitFor(
        async () => (await restarted.rawStore.outboxDepth()) === 0,
        10_000,
        'the recovered documents published',
      );
      expect(await restarted.rawStore.get(stooqDoc)).toMatchObject({
        processed: true,
        published: true,
        ticks: [{ symbol: 'AAPL' }, { symbol: 'MSFT' }, { symbol: 'BRK.B' }],
      });
      expect(await restarted.rawStore.get(grpcDoc)).toMatchObject({
        processed: true,
        published: true,
        ticks: [{ symbol: 'IBM', source: 'grpc' }],
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(broker.depth('observer')).toBe(4);
      await restarted.app.close();
      await observer.close();
    },
  );
});
