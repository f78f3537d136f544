import { describe, expect, it } from 'vitest';
import { transformAndValidate } from '../src/ticks/tick-schema.js';
import { buildTestApp, metricValue } from './support/ingestion-harness.js';

const NOW = Date.parse('2024-09-14T12:00:00Z');
const validate = (candidates: unknown[], skew = 5000) =>
  transformAndValidate(candidates, 'grpc', { maxFutureSkewMs: skew, now: () => NOW });
const base = { symbol: 'AAPL', price: 150.23, timestamp: '2024-09-14T11:59:00Z' };

describe('tick schema', () => {
  it(
    'when a tick is valid, then it is normalised to the wire form (ISO-8601 UTC with milliseconds, default ' +
      'source)',
    () => {
      expect(validate([{ ...base, timestamp: '2024-09-14T13:59:00+02:00', volume: 100 }])).toEqual({
        accepted: [
          { symbol: 'AAPL', price: 150.23, timestamp: '2024-09-14T11:59:00.000Z', source: 'grpc', volume: 100 },
        ],
        rejections: [],
      });
    },
  );

  it.each([
    ['BRK.B', true],
    ['BF-B', true],
    ['A', true],
    ['ABCDEFGHIJ', true],
    ['ABCDEFGHIJK', false],
    ['aapl', false],
    ['1ABC', false],
    ['^SPX', false],
    ['', false],
  ])('when the symbol is %j, then accepted is %s', (symbol, ok) => {
    const { accepted, rejections } = validate([{ ...base, symbol }]);
    expect(accepted.length === 1).toBe(ok);
    if (!ok) expect(rejections[0]!.reason).toBe('invalid_symbol');
  });

  it.each([
    ['zero', 0],
    ['negative', -1],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['a string', '150.23'],
    ['null', null],
  ])('when the price is %s, then it is rejected as invalid_price', (_what, price) => {
    expect(validate([{ ...base, price }]).rejections).toMatchObject([
      { index: 0, reason: 'invalid_price', symbol: 'AAPL' },
    ]);
  });

  it.each([
    ['not a date', 'yesterday'],
    ['a date without a time', '2024-09-14'],
    ['an impossible date', '2024-02-30T10:00:00Z'],
    ['a number', 1726315200000],
  ])('when the timestamp is %s, then it is rejected as invalid_timestamp', (_what, timestamp) => {
    expect(validate([{ ...base, timestamp }]).rejections[0]!.reason).toBe('invalid_timestamp');
  });

  it(
    'when the timestamp is ahead of now by less than the skew, then it passes; by more, it is rejected as ' +
      'future_timestamp',
    () => {
      expect(validate([{ ...base, timestamp: '2024-09-14T12:00:04Z' }]).accepted).toHaveLength(1);
      expect(validate([{ ...base, timestamp: '2024-09-14T12:00:06Z' }]).rejections[0]!.reason).toBe('future_timestamp');
    },
  );

  it(
    'when the source is unknown, the volume is fractional or negative, or there are extra fields, then each is ' +
      'rejected with its reason',
    () => {
      const { rejections } = validate([
        { ...base, source: 'bloomberg' },
        { ...base, volume: 1.5 },
        { ...base, volume: -3 },
        { ...base, currency: 'USD' },
        'AAPL,150',
        null,
      ]);
      expect(rejections.map((r) => [r.index, r.reason])).toEqual([
        [0, 'unknown_source'],
        [1, 'invalid_volume'],
        [2, 'invalid_volume'],
        [3, 'invalid_shape'],
        [4, 'invalid_shape'],
        [5, 'invalid_shape'],
      ]);
    },
  );
});

describe('rejections through the pipeline', () => {
  it(
    'when invalid ticks arrive, then nothing invalid is published, the raw document records why, and a metric ' +
      'counts them per source and reason',
    async () => {
      const { app, rawStore, bus, broker } = buildTestApp();
      await app.ready();
      await bus.declare({ queues: [{ name: 'observer', bindings: [{ exchange: 'prices', pattern: '#' }] }] });
      const outcome = await app.ingestion.pipeline.ingest(
        { source: 'grpc', url: 'grpc://test', fetched_at: new Date(), status: 200, body: '[...]' },
        () => ({
          candidates: [
            { symbol: 'AAPL', price: 1, timestamp: '2024-09-14T12:00:00Z' },
            { symbol: 'AAPL', price: 0, timestamp: '2024-09-14T12:00:00Z' },
            { symbol: 'MSFT', price: -2, timestamp: '2024-09-14T12:00:00Z' },
            { symbol: 'bad', price: 1, timestamp: '2024-09-14T12:00:00Z' },
          ],
          problems: [],
        }),
      );
      expect(outcome.accepted).toHaveLength(1);
      const stored = await rawStore.get(outcome.documentId);
      expect(stored!.rejections.map((r) => r.reason)).toEqual(['invalid_price', 'invalid_price', 'invalid_symbol']);
      expect(stored!.rejections[1]!.message).toMatch(/^price: /);
      await new Promise((resolve) => setImmediate(resolve));
      expect(broker.depth('observer')).toBe(1);
      expect(
        await metricValue(app, 'ingestion_ticks_rejected_total', { source: 'grpc', reason: 'invalid_price' }),
      ).toBe(2);
      expect(
        await metricValue(app, 'ingestion_ticks_rejected_total', { source: 'grpc', reason: 'invalid_symbol' }),
      ).toBe(1);
      expect(await metricValue(app, 'ingestion_ticks_published_total', { source: 'grpc' })).toBe(1);
      await app.close();
    },
  );
});
