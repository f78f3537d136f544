import type { CandleInterval } from '@lizards/contract';

// The server's replies, as @lizards/contract declares them.
export {
  CANDLE_INTERVALS,
  type StoredPrice,
  type HistoryPage,
  type CandleInterval,
  type Candle,
  type CandlesReply,
} from '@lizards/contract';

export interface HistoryQuery {
  /** Start of the range (inclusive); the server's default is an hour before `to`. */
  from?: Date | string;
  /** End of the range; the server's default is now. */
  to?: Date | string;
  /** Ticks per page (the server's default 1000, at most 10000). */
  limit?: number;
}

export interface CandlesQuery {
  interval?: CandleInterval;
  from?: Date | string;
  to?: Date | string;
}
