import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataProcessorClient } from '@lizards/proto';
import { EmbeddedRawStore } from '../src/raw-store/embedded-raw-store.js';
import type { NewRawDocument } from '../src/raw-store/raw-store.js';
import {
  authMetadata,
  grpcClient,
  processData,
  startGrpcTestApp,
  type CallResult,
  type GrpcTestApp,
} from './support/grpc-harness.js';
import { TEST_RAW_STORE_BYTES } from './support/ingestion-harness.js';
import { waitFor } from '@lizards/testkit';

/** A raw store whose inserts wait while it is held: calls stay in flight until the test lets them go. */
class HeldRawStore extends EmbeddedRawStore {
  held = false;
  readonly waiting: Array<() => void> = [];

  override async insert(document: NewRawDocument): Promise<string> {
    if (this.held) await new Promise<void>((resolve) => this.waiting.push(resolve));
    return super.insert(document);
  }

  release(): void {
    this.held = false;
    for (const go of this.waiting.splice(0)) go();
  }
}

/** One tick, distinct per `n`. */
const call = (client: DataProcessorClient, n: number): Promise<CallResult> =>
  processData(
    client,
    JSON.stringify({
      symbol: 'AAPL',
      price: 100 + n,
      timestamp: new Date(Date.parse('2024-09-14T12:00:00Z') + n).toISOString(),
    }),
  );
const pushbackMs = (error: grpc.ServiceError | undefined) => Number(error?.metadata.get('grpc-retry-pushback-ms')[0]);

describe('gRPC ProcessData: per-peer limits', () => {
  describe('concurrent calls (GRPC_MAX_CONCURRENT_CALLS_PER_PEER = 2)', () => {
    let grpcApp: GrpcTestApp;
    let store: HeldRawStore;
    let first: DataProcessorClient;
    let second: DataProcessorClient;

    beforeAll(async () => {
      store = new HeldRawStore({ maxBytes: TEST_RAW_STORE_BYTES, retentionDays: 7 });
      grpcApp = await startGrpcTestApp({ maxConcurrentCallsPerPeer: 2 }, store);
      first = grpcApp.client;
      // A second channel: another connection (another port) from the same address.
      second = grpcClient(grpcApp.app);
    });

    afterAll(async () => {
      store?.release();
      second?.close();
      await grpcApp?.close();
    });

    it(
      'when a peer has two calls in flight, then a third, even on another connection, fails with ' +
        'RESOURCE_EXHAUSTED and a retry hint, and once they end it is served again',
      async () => {
        store.held = true;
        const inFlight = [call(first, 1), call(first, 2)];
        await waitFor(() => store.waiting.length === 2, 5000, 'two calls in flight');

        for (const client of [first, second]) {
          const { error, response } = await call(client, 3);
          expect(response).toBeUndefined();
          expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
          expect(error?.details).toMatch(/2 concurrent ProcessData calls/);
          expect(pushbackMs(error)).toBeGreaterThan(0);
        }
        expect(store.waiting.length).toBe(2);

        store.release();
        for (const { response } of await Promise.all(inFlight))
          expect(response).toMatchObject({ status: 'OK', accepted: 1 });
        expect((await call(second, 4)).response).toMatchObject({ status: 'OK', accepted: 1 });
      },
    );

    it(
      'when calls fail (UNAUTHENTICATED, INVALID_ARGUMENT) ' + 'or are cancelled, then their slots are given back',
      async () => {
        const rejected = await new Promise<grpc.ServiceError | null>((resolve) =>
          first.ProcessData({ content: '{}' }, (err) => resolve(err)),
        );
        expect(rejected?.code).toBe(grpc.status.UNAUTHENTICATED);
        expect((await processData(first, '[]')).error?.code).toBe(grpc.status.INVALID_ARGUMENT);

        store.held = true;
        const cancelled = [
          first.ProcessData(
            { content: '{"symbol":"AAPL","price":1,"timestamp":"2024-09-14T12:00:00Z"}' },
            authMetadata(),
            () => undefined,
          ),
        ];
        cancelled.push(
          first.ProcessData(
            { content: '{"symbol":"AAPL","price":2,"timestamp":"2024-09-14T12:00:01Z"}' },
            authMetadata(),
            () => undefined,
          ),
        );
        await waitFor(() => store.waiting.length === 2, 5000, 'two calls in flight');
        for (const c of cancelled) c.cancel();
        store.release();
        const results = await Promise.all([call(first, 10), call(second, 11)]);
        for (const { response } of results) expect(response).toMatchObject({ status: 'OK', accepted: 1 });
      },
    );
  });

  describe('call rate (GRPC_RATE_LIMIT_MAX = 3 per GRPC_RATE_LIMIT_WINDOW_MS = 60000)', () => {
    let grpcApp: GrpcTestApp;

    beforeAll(async () => {
      grpcApp = await startGrpcTestApp({ rateLimit: { max: 3, windowMs: 60_000 } });
    });

    afterAll(async () => {
      await grpcApp?.close();
    });

    it(
      'when a peer has made its calls of the window, then the next fails with RESOURCE_EXHAUSTED and a retry ' +
        'hint up to the end of the window, and nothing is stored',
      async () => {
        const { client, rawStore } = grpcApp;
        for (let n = 0; n < 3; n++)
          expect((await call(client, n)).response).toMatchObject({ status: 'OK', accepted: 1 });
        const documents = (await rawStore.recent({ limit: 1000 })).length;

        const { error, response } = await call(client, 3);
        expect(response).toBeUndefined();
        expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect(error?.details).toMatch(/3 ProcessData calls per 60000 ms/);
        expect(pushbackMs(error)).toBeGreaterThan(50_000);
        expect(pushbackMs(error)).toBeLessThanOrEqual(60_000);
        expect((await rawStore.recent({ limit: 1000 })).length).toBe(documents);
      },
    );
  });
});
