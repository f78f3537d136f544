import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { afterAll, describe, expect, it } from 'vitest';
import { RabbitBus } from '@lizards/lib';
import { loadDataProcessor } from '@lizards/proto';
import { EmbeddedRawStore } from '../src/raw-store/embedded-raw-store.js';
import { SimulatedSource } from '../src/sources/simulated-source.js';
import { authMetadata, grpcTestSettings } from './support/grpc-harness.js';
import { buildTestApp } from './support/ingestion-harness.js';
import { AMQP_URL, deleteStoreTopology, testStoreTopology } from './support/rabbit.js';
import { TcpProxy, waitFor } from '@lizards/testkit';

const store = testStoreTopology(`lz.test.${randomUUID().slice(0, 8)}.prices`);
const broker = new URL(AMQP_URL);
const BUDGET = 200_000;

describe('the raw store full while the broker is away', () => {
  const proxy = new TcpProxy(broker.hostname, Number(broker.port || 5672));

  afterAll(async () => {
    await proxy.stop();
    await deleteStoreTopology(store);
  });

  it(
    'when unpublished documents fill the budget, then gRPC calls get RESOURCE_EXHAUSTED with a retry hint, ' +
      'pollers pause, /ready says why; after the broker is back all resumes and nothing accepted is lost',
    async () => {
      const url = new URL(AMQP_URL);
      url.port = String(await proxy.start());
      const bus = RabbitBus.create({ url: url.toString(), minBackoffMs: 50, maxBackoffMs: 400 });
      await bus.waitUntilConnected();
      const source = new SimulatedSource({ seed: 5, tickMs: 100, symbols: ['AAPL', 'MSFT'] });
      const { app, rawStore } = buildTestApp({
        sources: [source],
        bus,
        poll: true,
        rawStore: new EmbeddedRawStore({ maxBytes: BUDGET, retentionDays: 7 }),
        settings: { store, outboxRetryMs: 100, grpc: grpcTestSettings({ maxMessageBytes: 1_048_576 }) },
      });
      await app.ready();
      const { Client } = loadDataProcessor();
      const client = new Client(`127.0.0.1:${app.ingestion.grpcPort}`, grpc.credentials.createInsecure());
      const call = (content: string) =>
        new Promise<{ error?: grpc.ServiceError }>((resolve) =>
          client.ProcessData({ content }, authMetadata(), { deadline: Date.now() + 10_000 }, (error) =>
            resolve(error ? { error } : {}),
          ),
        );
      const status = () => app.ingestion.scheduler.status()[0]!;
      try {
        await proxy.cut();
        await waitFor(() => bus.state === 'disconnected', 10_000, 'the bus noticing the outage');
        let refused: grpc.ServiceError | undefined;
        for (let i = 0; !refused && i < 100; i++) {
          const tick = {
            symbol: 'TSLA',
            price: 100 + i,
            timestamp: new Date(Date.parse('2024-09-14T12:00:00Z') + i).toISOString(),
          };
          // About 20 KB each, padded with whitespace: the budget holds fewer than ten.
          refused = (await call(`${JSON.stringify([tick])}${' '.repeat(20_000)}`)).error;
        }
        expect(refused).toMatchObject({ code: grpc.status.RESOURCE_EXHAUSTED });
        expect(refused!.details).toMatch(/raw store is full.*retry in 1 s/);
        expect(refused!.metadata.get('grpc-retry-pushback-ms')).toEqual(['100']);
        expect(rawStore.full).toBe(true);

        const ready = await app.admin.inject('/ready');
        expect(ready.statusCode).toBe(503);
        expect(ready.json().checks.raw_store).toMatch(/^full/);
        await waitFor(() => status().paused, 5000, 'the simulated source to pause');
        const documentsWhilePaused = status().documents;
        expect(await rawStore.outboxDepth()).toBeGreaterThan(0);
        // Nothing to await for a fetch that does not happen: five poll intervals pass without one.
        await new Promise((resolve) => setTimeout(resolve, 500));
        expect(status().documents).toBe(documentsWhilePaused);
        expect((await app.inject({ url: '/sources/status' })).json().sources[0].paused).toBe(true);

        await proxy.restore();
        await waitFor(
          async () => (await rawStore.outboxDepth()) === 0 && !rawStore.full,
          15_000,
          'the outbox to drain and make room',
        );
        await waitFor(() => !status().paused && status().documents > documentsWhilePaused, 5000, 'polling to resume');
        expect(await call(JSON.stringify({ symbol: 'TSLA', price: 1, timestamp: '2024-09-14T13:00:00Z' }))).toEqual({});
        expect((await app.admin.inject('/ready')).statusCode).toBe(200);
      } finally {
        client.close();
        await app.close();
      }
    },
  );
});
