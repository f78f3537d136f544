import { describe, expect, it } from 'vitest';
import { SOURCE_PATTERN } from '@lizards/lib';
import { tickMessages } from '../../ingestion/src/outbox/tick-message.js';
import { transformAndValidate } from '../../ingestion/src/ticks/tick-schema.js';
import { SOURCE_IDS } from '../../ingestion/src/ticks/tick.js';
import { parseTickMessage } from '../../provider/src/worker/tick-message.js';

const base = { symbol: 'AAPL', price: 150.25, timestamp: '2024-09-14T12:00:00Z', source: 'simulated', volume: 100 };

/**
 * The publisher's check of a candidate tick. The future-skew bound is left out: it is the publisher's own (it
 * depends on the moment of publishing), not a rule of the message.
 */
const publisherAccepts = (tick: Record<string, unknown>): boolean =>
  transformAndValidate([tick], 'grpc', { maxFutureSkewMs: Number.MAX_SAFE_INTEGER }).accepted.length === 1;

/** The consumer's check of the same tick put on the bus as it is. */
const consumerAccepts = (tick: Record<string, unknown>): boolean =>
  parseTickMessage(Buffer.from(JSON.stringify(tick)), {}).ok;

const boundaries: [string, boolean, Record<string, unknown>][] = [
  ['a one-letter symbol', true, { symbol: 'A' }],
  ['a ten-character symbol', true, { symbol: 'ABCDEFGHIJ' }],
  ['a share-class symbol with a dot', true, { symbol: 'BRK.B' }],
  ['a share-class symbol with a dash', true, { symbol: 'BF-B' }],
  ['an eleven-character symbol', false, { symbol: 'ABCDEFGHIJK' }],
  ['a lower-case symbol', false, { symbol: 'aapl' }],
  ['a symbol starting with a digit', false, { symbol: '1ABC' }],
  ['an empty symbol', false, { symbol: '' }],
  ['the smallest positive price', true, { price: Number.MIN_VALUE }],
  ['the largest price (1e9)', true, { price: 1e9 }],
  ['the next price above 1e9', false, { price: 1_000_000_000.0000001 }],
  ['a price of 1e12', false, { price: 1e12 }],
  ['a zero price', false, { price: 0 }],
  ['a negative price', false, { price: -1 }],
  ['a price as a string', false, { price: '150.25' }],
  ['a leap day', true, { timestamp: '2024-02-29T00:00:00Z' }],
  ['the 29th of February of a common year', false, { timestamp: '2023-02-29T00:00:00Z' }],
  ['the 30th of February', false, { timestamp: '2024-02-30T10:00:00Z' }],
  ['nine fraction digits', true, { timestamp: '2024-09-14T23:59:59.999999999Z' }],
  ['ten fraction digits', false, { timestamp: '2024-09-14T23:59:59.9999999999Z' }],
  ['hour 24', false, { timestamp: '2024-09-14T24:00:00Z' }],
  ['the largest zone offset', true, { timestamp: '2024-09-14T12:00:00+23:59' }],
  ['a negative zone offset', true, { timestamp: '2024-09-14T12:00:00-05:00' }],
  ['a zone offset of 24 hours', false, { timestamp: '2024-09-14T12:00:00+24:00' }],
  ['a zone offset without a colon', false, { timestamp: '2024-09-14T12:00:00+0000' }],
  ['no zone', false, { timestamp: '2024-09-14T12:00:00' }],
  ['a lower-case zone', false, { timestamp: '2024-09-14T12:00:00z' }],
  ['a date without a time', false, { timestamp: '2024-09-14' }],
  ['a timestamp as a number', false, { timestamp: 1726315200000 }],
  // Year 0 is a date of the message; the store has no year 0 and refuses it as data (dead-lettered then).
  ['year 0', true, { timestamp: '0000-01-01T00:00:00Z' }],
  ['the 29th of February of year 0 (a leap year)', true, { timestamp: '0000-02-29T00:00:00Z' }],
  ['the last millisecond of year 9999', true, { timestamp: '9999-12-31T23:59:59.999Z' }],
  ['a volume of 0', true, { volume: 0 }],
  ['the largest volume (1e15)', true, { volume: 1e15 }],
  ['a volume above 1e15', false, { volume: 1e15 + 1 }],
  ['a negative volume', false, { volume: -1 }],
  ['a fractional volume', false, { volume: 1.5 }],
  ['no volume', true, { volume: undefined }],
];

describe('the prices message: publisher (ingestion) and consumer (provider)', () => {
  it.each(boundaries)('when a tick has %s, then both sides agree (accepted: %s)', (_what, accepted, change) => {
    const tick = { ...base, ...change };
    const sides = { publisher: publisherAccepts(tick), consumer: consumerAccepts(tick) };
    expect(sides).toEqual({ publisher: accepted, consumer: accepted });
  });

  it('when the publisher accepts the boundary ticks, then its messages, lone or batched, decode to them', () => {
    const accepted = boundaries.filter(([, ok]) => ok).map(([, , change]) => ({ ...base, ...change }));
    const { accepted: ticks } = transformAndValidate(accepted, 'grpc', { maxFutureSkewMs: Number.MAX_SAFE_INTEGER });
    expect(ticks).toHaveLength(accepted.length);
    const lone = ticks.map((t, i) => ({ ...t, symbol: `S${i}` }));
    for (const published of [lone, ticks]) {
      const messages = tickMessages('prices', published, 1_726_315_200_000);
      const decoded = messages.flatMap((m) => {
        const parsed = parseTickMessage(m.body, m.options?.headers ?? {});
        if (!parsed.ok) throw new Error(parsed.reason);
        return parsed.ticks;
      });
      expect(decoded.map((t) => ({ ...t, timestamp: t.timestamp.toISOString() }))).toEqual(
        published.map((t) => ({ ...t, volume: t.volume ?? null, publishedAt: new Date(1_726_315_200_000) })),
      );
    }
  });

  it('when a tick carries an unknown field, then the publisher refuses it as input and the consumer ignores it', () => {
    const tick = { ...base, currency: 'USD' };
    expect(publisherAccepts(tick)).toBe(false);
    expect(consumerAccepts(tick)).toBe(true);
  });

  it('when the publisher names a source, then it is one of its own ids, each a source id of the contract', () => {
    expect(publisherAccepts({ ...base, source: 'bloomberg' })).toBe(false);
    expect(consumerAccepts({ ...base, source: 'bloomberg' })).toBe(true);
    for (const id of SOURCE_IDS) expect(id).toMatch(new RegExp(SOURCE_PATTERN));
  });
});
