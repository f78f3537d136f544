import { Type, type Static } from '@sinclair/typebox';

// The bodies the provider's read-only routes answer with (provider/src/prices/prices-routes.ts serializes with them
// and the gateway publishes them in its OpenAPI document); @lizards/client's REST calls return their types.

const IsoTimestamp = (description: string) => Type.String({ description: `${description} (ISO-8601)` });

/** `GET /symbols`. */
export const SymbolsReply = Type.Object({ symbols: Type.Array(Type.String()) });
export type SymbolsReply = Static<typeof SymbolsReply>;

/** A stored tick (`GET /prices/:symbol`, and each of a history page's). */
export const StoredPrice = Type.Object({
  symbol: Type.String(),
  price: Type.Number(),
  timestamp: IsoTimestamp('when the source quoted it'),
  source: Type.String(),
  volume: Type.Union([Type.Integer(), Type.Null()]),
  seq: Type.String({ description: 'its place in the commit order (a resume cursor)' }),
});
export type StoredPrice = Static<typeof StoredPrice>;

/** One page of `GET /prices/:symbol/history`, oldest first. */
export const HistoryPage = Type.Object({
  symbol: Type.String(),
  from: IsoTimestamp('start of the range, inclusive'),
  to: IsoTimestamp('end of the range'),
  prices: Type.Array(StoredPrice),
  next: Type.Union([Type.String(), Type.Null()], {
    description: 'the next page (also in the Link header); null on the last',
  }),
});
export type HistoryPage = Static<typeof HistoryPage>;

/** The widths of `GET /prices/:symbol/candles`, shortest first. */
export const CANDLE_INTERVALS = ['1m', '5m', '15m', '1h', '1d'] as const;
export const CandleInterval = Type.Union(CANDLE_INTERVALS.map((interval) => Type.Literal(interval)));
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

export const Candle = Type.Object({
  start: IsoTimestamp('start of the bucket'),
  open: Type.Number(),
  high: Type.Number(),
  low: Type.Number(),
  close: Type.Number(),
  volume: Type.Union([Type.Integer(), Type.Null()]),
  ticks: Type.Integer(),
});
export type Candle = Static<typeof Candle>;

/** `GET /prices/:symbol/candles`. */
export const CandlesReply = Type.Object({
  symbol: Type.String(),
  interval: CandleInterval,
  candles: Type.Array(Candle),
});
export type CandlesReply = Static<typeof CandlesReply>;
