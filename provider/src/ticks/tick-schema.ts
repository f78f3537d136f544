import { Type } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

// The public API's symbol rule, for the live feed, the hub and the routes.
export { SYMBOL_PATTERN } from '@lizards/contract';

/** `a > b` for seqs written as canonical decimals (no leading zeros), without parsing them. */
export function seqAfter(a: string, b: string): boolean {
  return a.length !== b.length ? a.length > b.length : a > b;
}

/** A tick as the store holds it; `seq` is the commit-ordered position, a bigint as a string. */
export interface StoredTick {
  symbol: string;
  price: number;
  timestamp: Date;
  source: string;
  volume: number | null;
  seq: string;
  publishedAt: Date | null;
}

/** A tick ready to be written. */
export interface NewTick {
  symbol: string;
  price: number;
  timestamp: Date;
  source: string;
  volume: number | null;
  publishedAt: Date | null;
}

/** One entry of a `prices.live` message: a committed tick with its seq. */
export interface LiveTick {
  symbol: string;
  price: number;
  timestamp: string;
  source: string;
  volume?: number;
  seq: string;
  published_at?: number;
}

export function toLiveTick(t: StoredTick): LiveTick {
  return {
    symbol: t.symbol,
    price: t.price,
    timestamp: t.timestamp.toISOString(),
    source: t.source,
    ...(t.volume !== null ? { volume: t.volume } : {}),
    seq: t.seq,
    ...(t.publishedAt ? { published_at: t.publishedAt.getTime() } : {}),
  };
}

export const LiveMessage = Type.Object({
  ticks: Type.Array(Type.Object({ seq: Type.String({ pattern: '^\\d{1,19}$' }) }, { additionalProperties: true })),
});
export const liveMessageChecker = TypeCompiler.Compile(LiveMessage);
