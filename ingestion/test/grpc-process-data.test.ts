import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusMessage } from '@lizards/lib';
import type { RawStore } from '../src/raw-store/raw-store.js';
import { processData, startGrpcTestApp, type CallResult, type GrpcTestApp } from './support/grpc-harness.js';
import { waitFor } from '@lizards/testkit';

const MAX_BYTES = 4096;

describe('gRPC DataProcessor.ProcessData', () => {
  let grpcApp: GrpcTestApp;
  let rawStore: RawStore;
  let published: BusMessage[];

  const call = (content: string): Promise<CallResult> => processData(grpcApp.client, content);

  beforeAll(async () => {
    grpcApp = await startGrpcTestApp({ maxMessageBytes: MAX_BYTES });
    ({ rawStore, published } = grpcApp);
  });

  afterAll(async () => {
    await grpcApp?.close();
  });

  const bodies = () => grpcApp.bodies();

  describe('valid content', () => {
    it('when the content is one JSON tick, then it is accepted, stored and published with source grpc', async () => {
      const { response } = await call(
        '{"symbol":"AAPL","price":150.23,"timestamp":"2024-09-14T12:34:56Z","volume":1200}',
      );
      expect(response).toMatchObject({ status: 'OK', accepted: 1, rejected: 0 });
      await waitFor(() => published.length === 1, 5000, 'the published tick');
      expect(bodies()[0]).toEqual({
        symbol: 'AAPL',
        price: 150.23,
        timestamp: '2024-09-14T12:34:56.000Z',
        source: 'grpc',
        volume: 1200,
      });
      expect(published[0]!.routingKey).toBe('AAPL');
      const [doc] = await rawStore.recent({ limit: 1 });
      expect(doc).toMatchObject({ source: 'grpc', published: true, body: expect.stringContaining('"AAPL"') });
    });

    it(
      'when the content is a JSON array of ticks, then all are accepted as source grpc, whatever source they ' +
        'claim',
      async () => {
        const before = published.length;
        const { response } = await call(
          JSON.stringify([
            { symbol: 'MSFT', price: 430.59, timestamp: '2024-09-14T12:35:00Z' },
            { symbol: 'BRK.B', price: 455.56, timestamp: '2024-09-14T12:35:00.250Z', source: 'html' },
          ]),
        );
        expect(response).toMatchObject({ status: 'OK', accepted: 2, rejected: 0 });
        await waitFor(() => published.length === before + 2, 5000, 'two published ticks');
        expect(
          bodies()
            .slice(before)
            .map((b) => [b.symbol, b.source]),
        ).toEqual([
          ['MSFT', 'grpc'],
          ['BRK.B', 'grpc'],
        ]);
      },
    );

    it('when the content is CSV rows with the optional columns, then each row is accepted', async () => {
      const before = published.length;
      const csv =
        'symbol,price,timestamp,source,volume\n' +
        'TSLA,230.29,2024-09-14T12:36:00Z,,500\n' +
        'NVDA,119.1,2024-09-14T12:36:00Z,grpc,\n';
      const { response } = await call(csv);
      expect(response).toMatchObject({ status: 'OK', accepted: 2, rejected: 0 });
      await waitFor(() => published.length === before + 2, 5000, 'two published ticks');
      expect(bodies().slice(before)).toEqual([
        { symbol: 'TSLA', price: 230.29, timestamp: '2024-09-14T12:36:00.000Z', source: 'grpc', volume: 500 },
        { symbol: 'NVDA', price: 119.1, timestamp: '2024-09-14T12:36:00.000Z', source: 'grpc' },
      ]);
    });

    it(
      'when the content holds several ticks of one symbol, then they are published together as one message of ' +
        'that symbol',
      async () => {
        const before = published.length;
        const { response } = await call(
          'symbol,price,timestamp\n' +
            'AMD,150.1,2024-09-14T12:36:30Z\n' +
            'INTC,20.5,2024-09-14T12:36:30Z\n' +
            'AMD,150.2,2024-09-14T12:36:31Z\n' +
            'AMD,150.3,2024-09-14T12:36:32Z\n',
        );
        expect(response).toMatchObject({ status: 'OK', accepted: 4, rejected: 0 });
        await waitFor(() => published.length === before + 2, 5000, 'two published messages');
        const [amd, intc] = published.slice(before);
        expect([amd!.routingKey, amd!.messageId]).toEqual(['AMD', 'grpc:AMD:2024-09-14T12:36:30.000Z+3']);
        expect(JSON.parse(amd!.body.toString())).toEqual({
          ticks: [
            { symbol: 'AMD', price: 150.1, timestamp: '2024-09-14T12:36:30.000Z', source: 'grpc' },
            { symbol: 'AMD', price: 150.2, timestamp: '2024-09-14T12:36:31.000Z', source: 'grpc' },
            { symbol: 'AMD', price: 150.3, timestamp: '2024-09-14T12:36:32.000Z', source: 'grpc' },
          ],
        });
        expect([intc!.routingKey, intc!.messageId]).toEqual(['INTC', 'grpc:INTC:2024-09-14T12:36:30.000Z']);
        expect(JSON.parse(intc!.body.toString())).toEqual({
          symbol: 'INTC',
          price: 20.5,
          timestamp: '2024-09-14T12:36:30.000Z',
          source: 'grpc',
        });
      },
    );

    it(
      'when some ticks are valid and some are not, then the valid ones are accepted and the response names the ' +
        'first problem',
      async () => {
        const { response, error } = await call(
          'symbol,price,timestamp\n' +
            'IBM,214.79,2024-09-14T12:37:00Z\n' +
            'msft,1,2024-09-14T12:37:00Z\n' +
            'XOM,-3,2024-09-14T12:37:00Z\n',
        );
        expect(error).toBeUndefined();
        expect(response).toMatchObject({ status: 'INVALID_ARGUMENT', accepted: 1, rejected: 2 });
        expect(response!.message).toMatch(/^2 of 3 ticks rejected; first: ticks\[1\] \(msft\): symbol: /);
      },
    );
  });

  describe('invalid content', () => {
    it.each([
      ['malformed JSON', '{"symbol":"AAPL","price":', /content is not valid JSON/],
      [
        'a price of the wrong type',
        '{"symbol":"AAPL","price":"150.23","timestamp":"2024-09-14T12:34:56Z"}',
        /ticks\[0\] \(AAPL\): price: Expected number \(got "150.23"\)/,
      ],
      [
        'a symbol of the wrong type',
        '[{"symbol":42,"price":1,"timestamp":"2024-09-14T12:34:56Z"}]',
        /ticks\[0\]: symbol: Expected string/,
      ],
      ['a timestamp that is not ISO-8601', '{"symbol":"AAPL","price":1,"timestamp":"14/09/2024 12:34"}', /timestamp: /],
      [
        'a timestamp in the future',
        `{"symbol":"AAPL","price":1,"timestamp":"${new Date(Date.now() + 3_600_000).toISOString()}"}`,
        /in the future/,
      ],
      ['a negative price in CSV', 'symbol,price,timestamp\nAAPL,-1,2024-09-14T12:34:56Z', /price: /],
      ['CSV with an unknown column', 'ticker,price,timestamp\nAAPL,1,2024-09-14T12:34:56Z', /unknown column "ticker"/],
      ['CSV rows of the wrong width', 'symbol,price,timestamp\nAAPL,1', /CSV line 2: expected 3 fields, got 2/],
      ['empty content', '   ', /content is empty/],
      ['an empty array', '[]', /empty array/],
    ])(
      'when the content has %s, then the call fails with INVALID_ARGUMENT naming the problem, and nothing is published',
      async (_what, content, message) => {
        const before = published.length;
        const { error, response } = await call(content);
        expect(response).toBeUndefined();
        expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error?.details).toMatch(message);
        const [doc] = await rawStore.recent({ limit: 1 });
        expect(doc).toMatchObject({ source: 'grpc', body: content, ticks: [] });
        expect(published.length).toBe(before);
      },
    );

    it(
      'when the message is larger than GRPC_MAX_MESSAGE_BYTES, then it is refused with RESOURCE_EXHAUSTED and ' +
        'the server keeps serving',
      async () => {
        const documentsBefore = (await rawStore.recent({ limit: 1000 })).length;
        const { error } = await call(`symbol,price,timestamp\n${'AAPL,1,2024-09-14T12:34:56Z\n'.repeat(300)}`);
        expect(error?.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
        expect((await rawStore.recent({ limit: 1000 })).length).toBe(documentsBefore);

        const { response } = await call('{"symbol":"AAPL","price":151,"timestamp":"2024-09-14T12:40:00Z"}');
        expect(response).toMatchObject({ status: 'OK', accepted: 1 });
      },
    );

    it(
      'when the problem quotes text with a lone UTF-16 surrogate, then the details carry U+FFFD in its place ' +
        'and the server keeps serving',
      async () => {
        const { error } = await call(
          JSON.stringify([{ symbol: 'A\ud800', price: 1, timestamp: '2024-09-14T12:34:56Z' }]),
        );
        expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
        expect(error?.details).toMatch(/ticks\[0\] \(A\ufffd\)/);

        const { response } = await call('{"symbol":"AAPL","price":152,"timestamp":"2024-09-14T12:41:00Z"}');
        expect(response).toMatchObject({ status: 'OK', accepted: 1 });
      },
    );
  });
});
