/** Short ids of the places a tick can come from (the `source` field on the wire). */
export const SOURCE_IDS = [
  'simulated',
  'stooq',
  'yahoo',
  'alphavantage',
  'finnhub',
  'html',
  'rendered',
  'grpc',
] as const;
export type SourceId = (typeof SOURCE_IDS)[number];

/** Sources polled by the scheduler (everything but pushed gRPC content). */
export type PolledSourceId = Exclude<SourceId, 'grpc'>;
export const POLLED_SOURCE_IDS: readonly PolledSourceId[] = SOURCE_IDS.filter(
  (id): id is PolledSourceId => id !== 'grpc',
);

/** One price observation, as published on the `prices` exchange. */
export interface Tick {
  symbol: string;
  price: number;
  /** ISO-8601 UTC, e.g. 2024-09-14T12:34:56.000Z */
  timestamp: string;
  source: SourceId;
  volume?: number;
}

/** Why a candidate tick was not accepted; `reason` is a small fixed vocabulary (a metric label). */
export interface Rejection {
  index: number;
  reason: RejectionReason;
  message: string;
  symbol?: string;
}

export type RejectionReason =
  | 'invalid_shape'
  | 'invalid_symbol'
  | 'invalid_price'
  | 'invalid_timestamp'
  | 'future_timestamp'
  | 'unknown_source'
  | 'invalid_volume';
