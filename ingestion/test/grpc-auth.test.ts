import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '@lizards/lib';
import type { RawStore } from '../src/raw-store/raw-store.js';
import { INGEST_TEST_TOKEN } from './support/ingestion-harness.js';
import {
  authMetadata,
  processData,
  startGrpcTestApp,
  type CallResult,
  type GrpcTestApp,
} from './support/grpc-harness.js';
import { waitFor } from '@lizards/testkit';

describe('gRPC ProcessData: who may push, and what the pushed ticks are', () => {
  let grpcApp: GrpcTestApp;
  let rawStore: RawStore;
  let published: BusMessage[];

  const call = (content: string, authorization: string | null): Promise<CallResult> =>
    processData(grpcApp.client, content, authMetadata(authorization));
  const bodies = () => grpcApp.bodies();
  const tick = (symbol: string, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ symbol, price: 1, timestamp: new Date(Date.now() + 9000).toISOString(), ...extra });

  beforeAll(async () => {
    grpcApp = await startGrpcTestApp();
    ({ rawStore, published } = grpcApp);
  });

  afterAll(async () => {
    await grpcApp?.close();
  });

  describe('authentication', () => {
    it.each([
      ['no authorization metadata', null],
      ['a wrong token', 'Bearer not-the-token-0123456789'],
      ['the token with one character more', `Bearer ${INGEST_TEST_TOKEN}x`],
      ['the token without the Bearer scheme', INGEST_TEST_TOKEN],
      ['the token under another scheme', `Basic ${INGEST_TEST_TOKEN}`],
    ])(
      'when the call carries %s, then it fails with UNAUTHENTICATED and nothing is stored or published',
      async (_what, authorization) => {
        const documentsBefore = (await rawStore.recent({ limit: 1000 })).length;
        const publishedBefore = published.length;
        const { error, response } = await call(tick('AAPL'), authorization);
        expect(response).toBeUndefined();
        expect(error?.code).toBe(grpc.status.UNAUTHENTICATED);
        expect(error?.details).toMatch(/authorization: Bearer <INGEST_TOKEN>/);
        expect((await rawStore.recent({ limit: 1000 })).length).toBe(documentsBefore);
        expect(published.length).toBe(publishedBefore);
      },
    );

    it('when the call carries the token, then it is accepted', async () => {
      const { response } = await call(tick('MSFT'), `Bearer ${INGEST_TEST_TOKEN}`);
      expect(response).toMatchObject({ status: 'OK', accepted: 1 });
    });
  });

  describe('the source of pushed ticks', () => {
    it('when JSON content claims source yahoo, then the tick is stored and published with source grpc', async () => {
      const before = published.length;
      const { response } = await call(tick('AAPL', { source: 'yahoo' }), `Bearer ${INGEST_TEST_TOKEN}`);
      expect(response).toMatchObject({ status: 'OK', accepted: 1 });
      await waitFor(() => published.length === before + 1, 5000, 'the published tick');
      expect(bodies()[before]).toMatchObject({ symbol: 'AAPL', source: 'grpc' });
      expect(published[before]!.messageId).toMatch(/^grpc:AAPL:/);
      const [doc] = await rawStore.recent({ limit: 1 });
      expect(doc!.ticks.map((t) => t.source)).toEqual(['grpc']);
    });

    it('when a JSON array and CSV rows claim other sources, then every tick gets source grpc', async () => {
      const before = published.length;
      const at = new Date(Date.now() - 1000).toISOString();
      const json = JSON.stringify([
        { symbol: 'TSLA', price: 2, timestamp: at, source: 'simulated' },
        { symbol: 'NVDA', price: 3, timestamp: at, source: 'stooq' },
      ]);
      const csv = `symbol,price,timestamp,source\nAMD,4,${at},finnhub\nINTC,5,${at},alphavantage\n`;
      expect((await call(json, `Bearer ${INGEST_TEST_TOKEN}`)).response).toMatchObject({ status: 'OK', accepted: 2 });
      expect((await call(csv, `Bearer ${INGEST_TEST_TOKEN}`)).response).toMatchObject({ status: 'OK', accepted: 2 });
      await waitFor(() => published.length === before + 4, 5000, 'four published ticks');
      expect(
        bodies()
          .slice(before)
          .map((b) => [b.symbol, b.source]),
      ).toEqual([
        ['TSLA', 'grpc'],
        ['NVDA', 'grpc'],
        ['AMD', 'grpc'],
        ['INTC', 'grpc'],
      ]);
    });
  });
});
